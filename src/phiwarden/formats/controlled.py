"""The DEA schedule of a medication, from its RxNorm code or name (21 CFR 1308.11-15).

An export rarely states a prescription's schedule; it names the medication, usually as
an RxNorm clinical drug ("Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral
Tablet"). :func:`schedule_of` finds the controlled ingredients of such a name (or an
ingredient RXCUI) in the shipped table ``formats/data/controlled_substances.toml`` and
returns the strictest schedule, lowered for the combination products the table lists.
A hospital maps its own drug codes with ``[controlled_substances]`` in its mapping file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "controlled_substances.toml"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: Schedules from the strictest; a lower rank is stricter.
SCHEDULES = ("I", "II", "III", "IV", "V")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Ingredient:
    """One controlled ingredient of the table."""

    name: str
    schedule: str
    rxcui: str | None
    combinations: dict[str, str]


@cache
def ingredients() -> dict[str, Ingredient]:
    """The shipped table, by ingredient name."""
    with DATA.open("rb") as f:
        data = tomllib.load(f)
    return {
        name: Ingredient(name, e["schedule"], e.get("rxcui"), dict(e.get("with", {})))
        for name, e in data["ingredients"].items()
    }


@cache
def _by_rxcui() -> dict[str, Ingredient]:
    return {i.rxcui: i for i in ingredients().values() if i.rxcui}


def _strictest(found: list[str]) -> str | None:
    return min(found, key=SCHEDULES.index) if found else None


def schedule_of(names: Sequence[str], rxnorm_codes: Sequence[str] = ()) -> str | None:
    """The DEA schedule ("II".."V") of a medication, or None when nothing is controlled."""
    found: list[str] = []
    for code in rxnorm_codes:
        hit = _by_rxcui().get(code)
        if hit is not None:
            found.append(hit.schedule)
    words = {w for name in names for w in _WORD.findall(name.lower())}
    for word in words:
        hit = ingredients().get(word)
        if hit is None:
            continue
        lowered = [s for other, s in hit.combinations.items() if other in words]
        found.append(max(lowered, key=SCHEDULES.index) if lowered else hit.schedule)
    return _strictest(found)
