"""Read standard and local codes onto phiwarden's vocabularies.

A hospital's export names a department's kind, a user's job, a contact's relationship and
an encounter's type in standard terminologies (HL7 v2/v3 tables, the FHIR
practitioner-role codes, SNOMED CT, the NUCC taxonomy) and in code systems of its own.
:class:`CodeMap` reads them in this order, for one vocabulary at a time:

1. the hospital's mapping file (``[roles]``, ``[department_kinds]``, ``[contact_kinds]``,
   ``[encounter_types]``, ``[order_kinds]``: ``"system|code"``, ``"code"`` or a
   display/name, matched without regard to case);
2. the shipped tables of standard codes (``formats/data/terminology.toml``), exact codes
   and then code prefixes (the NUCC taxonomy's groups);
3. whole-word keywords in the concepts' display and text (and a department's name);
4. nothing: the caller falls back and counts it (:attr:`CodeMap.unmapped`), so the
   readiness report can list the codes a hospital should map.

phiwarden's own ``urn:phiwarden:*`` codings are read too, as one more hospital code
system whose codes are already the canonical values; they are never required.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from phiwarden.domain.enums import ContactKind, DepartmentKind, EncounterType, Role
from phiwarden.formats.controlled import RXNORM, SCHEDULES, schedule_of

DATA = Path(__file__).with_name("data")
#: The vocabularies a mapping can fill, with the values each accepts.
VOCABULARIES: dict[str, frozenset[str]] = {
    "department_kind": frozenset(k.value for k in DepartmentKind),
    "role": frozenset(r.value for r in Role),
    "contact_kind": frozenset(k.value for k in ContactKind),
    "encounter_type": frozenset(t.value for t in EncounterType),
    "order_kind": frozenset({"lab", "radiology", "other"}),
}
#: Mapping-file section of each vocabulary.
SECTIONS: dict[str, str] = {
    "department_kind": "department_kinds",
    "role": "roles",
    "contact_kind": "contact_kinds",
    "encounter_type": "encounter_types",
    "order_kind": "order_kinds",
}
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

#: (system, code, display) of one coding of a concept, or (None, None, text) of its text.
Coded = tuple[str | None, str | None, str | None]


class MappingError(ValueError):
    """A mapping file that cannot be read, with what to change."""


def is_code_mapping(path: Path) -> bool:
    """True for a code mapping (``[roles]``...); False for an access-log column mapping.

    An access-log layout has a ``[columns]`` table; anything else is read as codes.
    """
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"cannot read the mapping file {path}: {exc}") from exc
    return "columns" not in data


def _words(value: str) -> str:
    """Lower-case words separated by single spaces, padded, for whole-word search."""
    return " " + " ".join(_WORD.findall(value.lower())) + " "


@dataclass(frozen=True)
class _Table:
    codes: dict[str, dict[str, str]]
    prefixes: dict[str, dict[str, str]]
    keywords: tuple[tuple[str, str], ...]  # (padded phrase, value) in priority order


def _table(section: dict[str, Any]) -> _Table:
    keywords = tuple(
        (_words(word), value)
        for value, words in section.get("keywords", {}).items()
        for word in words
    )
    return _Table(
        {s: {str(c): v for c, v in m.items()} for s, m in section.get("codes", {}).items()},
        {s: dict(m) for s, m in section.get("prefixes", {}).items()},
        keywords,
    )


@cache
def _standard() -> dict[str, Any]:
    with (DATA / "terminology.toml").open("rb") as f:
        return tomllib.load(f)


@cache
def standard_table(vocabulary: str) -> _Table:
    """The shipped codes, prefixes and keywords of one vocabulary (read once)."""
    return _table(_standard().get(vocabulary, {}))


def _local_hit(coded: list[Coded], local: dict[str, str]) -> str | None:
    """The hospital's entry for the first coding matching by ``system|code``, code or text."""
    for system, code, display in coded:
        for key in (f"{system}|{code}" if system and code else None, code, display):
            if key is not None and key.strip().lower() in local:
                return local[key.strip().lower()]
    return None


def concepts_codings(concepts: Any) -> Iterator[Coded]:
    """(system, code, display) of every coding, and (None, None, text) of every text."""
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        if not isinstance(concept, dict):
            continue
        codings = concept.get("coding") if "coding" in concept else [concept]
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict):
                system, code, display = (coding.get(k) for k in ("system", "code", "display"))
                yield (
                    system if isinstance(system, str) else None,
                    code if isinstance(code, str) and code.strip() else None,
                    display if isinstance(display, str) and display.strip() else None,
                )
        text = concept.get("text")
        if isinstance(text, str) and text.strip():
            yield (None, None, text)


@dataclass
class CodeMap:
    """Standard tables plus a hospital's mapping; counts what nothing mapped."""

    local: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the hospital's drug codes or names -> DEA schedule
    drugs: dict[str, str] = field(default_factory=dict)
    #: (vocabulary, "system|code" or text) -> times nothing mapped it
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (vocabulary, how) -> times a value was found that way (code, keyword, fallback)
    found_by: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def from_file(cls, path: Path | None) -> CodeMap:
        """The standard tables with a hospital's mapping file (None: the standard alone)."""
        if path is None:
            return cls()
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise MappingError(f"cannot read the mapping file {path}: {exc}") from exc
        local: dict[str, dict[str, str]] = {}
        for vocabulary, section in SECTIONS.items():
            entries = data.get(section, {})
            if not isinstance(entries, dict):
                raise MappingError(f"{path}: [{section}] must be a table of code = value")
            allowed = VOCABULARIES[vocabulary]
            for key, value in entries.items():
                if value not in allowed:
                    raise MappingError(
                        f"{path}: [{section}] {key!r} = {value!r} is not one of "
                        f"{', '.join(sorted(allowed))}"
                    )
            local[vocabulary] = {k.strip().lower(): v for k, v in entries.items()}
        drugs = data.get("controlled_substances", {})
        bad = {k: v for k, v in drugs.items() if v not in SCHEDULES}
        if not isinstance(drugs, dict) or bad:
            raise MappingError(
                f"{path}: [controlled_substances] maps a drug code or name to a DEA schedule "
                f"(one of {', '.join(SCHEDULES)}); not {bad}"
            )
        return cls(local=local, drugs={k.strip().lower(): v for k, v in drugs.items()})

    def fresh(self) -> CodeMap:
        """The same mapping with its counts at zero (one per ingested path)."""
        return CodeMap(local=self.local, drugs=self.drugs)

    def lookup(
        self,
        vocabulary: str,
        concepts: Any,
        *,
        own_system: str | None = None,
        names: Iterable[str | None] = (),
        count_miss: bool = True,
    ) -> str | None:
        """The canonical value the concepts (and extra names) stand for, or None.

        ``own_system`` is phiwarden's own code system for the vocabulary, whose codes are
        canonical values already. A miss is counted in :attr:`unmapped` by its first code
        (or text), so the hospital sees what to add to its mapping.
        """
        coded = list(concepts_codings(concepts))
        coded.extend((None, None, n) for n in names if n)
        allowed = VOCABULARIES[vocabulary]
        table = standard_table(vocabulary)
        local = _local_hit(coded, self.local.get(vocabulary, {}))  # 1. the hospital's entries
        if local is not None:
            return self._hit(vocabulary, "mapping", local)
        for system, code, _ in coded:  # 2. phiwarden's own codes, then the standard tables
            if code is None:
                continue
            if own_system is not None and system == own_system and code in allowed:
                return self._hit(vocabulary, "code", code)
            found = table.codes.get(system or "", {}).get(code)
            if found is None:
                prefixes = table.prefixes.get(system or "", {})
                best = max((p for p in prefixes if code.startswith(p)), key=len, default=None)
                found = prefixes[best] if best is not None else None
            if found is not None:
                return self._hit(vocabulary, "code", found)
        texts = [_words(v) for _, code, display in coded for v in (display, code) if v]
        for phrase, value in table.keywords:  # 3. keywords, in the table's priority order
            if any(phrase in t for t in texts):
                return self._hit(vocabulary, "keyword", value)
        if count_miss:
            self.miss(vocabulary, concepts, names)
        return None

    def miss(self, vocabulary: str, concepts: Any, names: Iterable[str | None] = ()) -> None:
        """Count concepts nothing mapped, by their first code (or text)."""
        coded = list(concepts_codings(concepts))
        coded.extend((None, None, n) for n in names if n)
        if coded:
            system, code, display = coded[0]
            key = f"{system}|{code}" if system and code else (code or display or "")
            self.unmapped[(vocabulary, key)] += 1

    def dea_schedule(self, concept: Any) -> str | None:
        """The DEA schedule of a medication concept: the hospital's codes, RxNorm, its name."""
        coded = list(concepts_codings(concept))
        local = _local_hit(coded, self.drugs)
        if local is not None:
            return local
        names = [d for _, _, d in coded if d]
        codes = [c for s, c, _ in coded if s == RXNORM and c]
        return schedule_of(names, codes)

    def _hit(self, vocabulary: str, how: str, value: str) -> str:
        self.found_by[(vocabulary, how)] += 1
        return value

    def fallback(self, vocabulary: str, value: str) -> str:
        """Count a value the caller chose because nothing mapped (for the readiness report)."""
        return self._hit(vocabulary, "fallback", value)

    def role_of_department(self, kind: str | None) -> str | None:
        """The role a user of a department of this kind most likely holds (non-clinical)."""
        return _standard()["role"].get("by_department_kind", {}).get(kind or "")
