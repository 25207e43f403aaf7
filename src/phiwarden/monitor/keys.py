"""Matching keys for relationship detectors: addresses, streets, phones, names.

Workforce and patient demographics are compared by key, not by raw text, so "2149
Hickory Drive, Apt 3" and "2149 HICKORY DR #3" meet. Keys are computed once per run over
the (small) operational tables in Python; the event-sized work stays in the engine.
"""

from __future__ import annotations

import re

import jellyfish

_SUFFIXES = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "ROAD": "RD",
    "DRIVE": "DR",
    "LANE": "LN",
    "BOULEVARD": "BLVD",
    "COURT": "CT",
    "PLACE": "PL",
    "TERRACE": "TER",
    "CIRCLE": "CIR",
    "PARKWAY": "PKWY",
    "HIGHWAY": "HWY",
    "SQUARE": "SQ",
    "TRAIL": "TRL",
    "WAY": "WAY",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
}
_UNIT = re.compile(r"\b(APT|APARTMENT|UNIT|STE|SUITE|FL|FLOOR|RM|ROOM|#)\b.*$")
_NON_WORD = re.compile(r"[^A-Z0-9# ]+")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D+")


def _words(text: str | None) -> list[str]:
    if not text:
        return []
    cleaned = _NON_WORD.sub(" ", text.upper().replace("#", " # "))
    return [_SUFFIXES.get(w, w) for w in _SPACES.sub(" ", cleaned).strip().split(" ") if w]


def address_key(line: str | None, zip_code: str | None, city: str | None = None) -> str | None:
    """One dwelling: house number, street and unit, plus ZIP-5 (or city when no ZIP)."""
    words = _words(line)
    if not words:
        return None
    where = (zip_code or "").strip()[:5] or (city or "").strip().upper()
    return " ".join(words) + "|" + where if where else None


def street_key(line: str | None, city: str | None, zip_code: str | None = None) -> str | None:
    """The street without house number or unit, plus city: neighbours share it."""
    words = _words(_UNIT.sub("", " ".join(_words(line))))
    while words and any(ch.isdigit() for ch in words[0]):
        words = words[1:]
    where = (city or "").strip().upper() or (zip_code or "").strip()[:5]
    return " ".join(words) + "|" + where if words and where else None


def house_number(line: str | None) -> str | None:
    """The leading house number of an address line, if it has one."""
    words = _words(line)
    return words[0] if words and words[0][:1].isdigit() else None


def phone_key(phone: str | None) -> str | None:
    """The ten NANP digits of a phone number (a leading 1 dropped), else None."""
    digits = _DIGITS.sub("", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def name_key(name: str | None) -> str | None:
    """Plain upper-case letters of a name (hyphens, spaces, apostrophes dropped)."""
    letters = "".join(ch for ch in (name or "").upper() if ch.isalpha())
    return letters or None


def sound_key(name: str | None) -> str | None:
    """Metaphone of a last name: Smith and Smyth, Jonson and Johnson share it."""
    key = name_key(name)
    return jellyfish.metaphone(key) if key else None
