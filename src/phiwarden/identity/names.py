"""Names in one form for matching: upper case, letters only, titles and suffixes removed,
nicknames resolved to the formal given name, and a phonetic (metaphone) key.

Titles and suffixes come from nameparser's own lists, so "Dr. John Smith Jr." and
"JOHN SMITH" agree; a whole name in one string is split with nameparser.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from importlib import resources

import jellyfish
from nameparser import HumanName
from nameparser.config import CONSTANTS

_NOT_LETTER = re.compile(r"[^A-Z \-']+")
_SPACES = re.compile(r"[\s\-']+")


@functools.cache
def _drop_words() -> frozenset[str]:
    words = set(CONSTANTS.titles) | set(CONSTANTS.suffix_acronyms)
    words |= set(CONSTANTS.suffix_not_acronyms)
    return frozenset(w.upper().replace(".", "") for w in words if w.isascii())


@functools.cache
def nicknames() -> dict[str, str]:
    """Nickname -> formal given name, from ``identity/data/nicknames.csv``."""
    text = resources.files("phiwarden.identity").joinpath("data/nicknames.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["nickname"]: r["name"] for r in rows}


def clean_name(value: str) -> str | None:
    """Upper-case letters only, accents folded, titles and suffixes dropped, one space.

    Hyphens and apostrophes join the parts ("O'Neil" -> "ONEIL", "Smith-Jones" ->
    "SMITH JONES"); None when nothing is left.
    """
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    folded = _NOT_LETTER.sub(" ", folded.replace(".", ""))
    words = [w.replace("'", "") for w in _SPACES.split(folded.replace("'", "")) if w]
    drop = _drop_words()
    kept = [w for w in words if w not in drop] or words
    return " ".join(kept) or None


def formal_first(clean: str) -> str:
    """The formal given name a nickname stands for ("BILL" -> "WILLIAM"); else the name."""
    first = clean.split(" ")[0]
    return nicknames().get(first, first)


def phonetic(clean: str) -> str | None:
    """Metaphone of the name with its spaces removed: "SMYTHE" and "SMITH" meet."""
    key = jellyfish.metaphone(clean.replace(" ", ""))
    return key or None


def split_full_name(value: str) -> tuple[str, str, str]:
    """(first, middle, last) of a whole name in one string, with nameparser."""
    name = HumanName(value)
    return name.first, name.middle, name.last
