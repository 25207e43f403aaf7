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


#: Titles dropped from the front of a name and suffixes from its end. nameparser's own
#: lists hold over a thousand words ("KING", "BISHOP", "ST"), which are surnames too, so
#: only the common ones that nameparser also knows are used, and only at the ends.
_TITLES = ("MR", "MRS", "MS", "MISS", "DR", "REV", "PROF", "SIR")
_SUFFIXES = ("JR", "SR", "II", "III", "IV", "V", "ESQ", "MD", "PHD", "DDS", "RN")


@functools.cache
def _ends() -> tuple[frozenset[str], frozenset[str]]:
    known_titles = {t.upper().replace(".", "") for t in CONSTANTS.titles}
    known_suffixes = {
        s.upper().replace(".", "")
        for s in (*CONSTANTS.suffix_acronyms, *CONSTANTS.suffix_not_acronyms)
    }
    return (
        frozenset(t for t in _TITLES if t in known_titles),
        frozenset(s for s in _SUFFIXES if s in known_suffixes),
    )


@functools.cache
def nicknames() -> dict[str, str]:
    """Nickname -> formal given name, from ``identity/data/nicknames.csv``."""
    text = resources.files("phiwarden.identity").joinpath("data/nicknames.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["nickname"]: r["name"] for r in rows}


def clean_name(value: str) -> str | None:
    """Upper-case letters only, accents folded, a leading title and trailing suffixes
    dropped, one space.

    Hyphens and apostrophes join the parts ("O'Neil" -> "ONEIL", "Smith-Jones" ->
    "SMITH JONES"); None when nothing is left.
    """
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    folded = _NOT_LETTER.sub(" ", folded.replace(".", ""))
    words = [w.replace("'", "") for w in _SPACES.split(folded.replace("'", "")) if w]
    titles, suffixes = _ends()
    kept = list(words)
    while len(kept) > 1 and kept[0] in titles:
        kept.pop(0)
    while len(kept) > 1 and kept[-1] in suffixes:
        kept.pop()
    return " ".join(kept) or None


def clean_place(value: str) -> str | None:
    """A town name for comparison: upper-case letters and digits, single spaces."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().upper()
    text = " ".join(re.sub(r"[^A-Z0-9]+", " ", folded).split())
    return text or None


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
