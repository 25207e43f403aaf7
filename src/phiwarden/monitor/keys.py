"""Matching keys for relationship detectors: addresses, streets, phones, names.

Workforce and patient demographics are compared by key, not by raw text, so "2149
Hickory Drive, Apt 3" and "2149 HICKORY DR #3" meet. Keys are computed once per run over
whole columns of the operational tables with Arrow kernels (the metaphone of last names
once per distinct name); the event-sized work stays in the engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeAlias

import jellyfish
import pyarrow as pa
import pyarrow.compute as pc

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
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
}
_UNIT_WORDS = r"(APARTMENT|APT|UNIT|STE|SUITE|FLOOR|FL|ROOM|RM|NO)"
Strings: TypeAlias = Any  # a pyarrow Array or ChunkedArray of strings


def _per_distinct(fn: Callable[[Strings], Strings]) -> Callable[[Strings], Strings]:
    """Run a one-column key function once per distinct value (households share addresses,
    contacts repeat the patient's), then spread the results back over the rows."""

    @functools.wraps(fn)
    def spread(values: Strings) -> Strings:
        distinct = pc.unique(values)
        return pc.take(fn(distinct), pc.index_in(values, value_set=distinct))

    return spread


@_per_distinct
def _clean(line: Strings) -> Strings:
    """Upper case, punctuation to spaces, units as '#N', suffixes abbreviated, one space."""
    s = pc.utf8_upper(line)
    s = pc.replace_substring_regex(s, r"[^A-Z0-9#]+", " ")
    s = pc.replace_substring_regex(s, r"\b" + _UNIT_WORDS + r"\b\s*#?\s*", "#")
    s = pc.replace_substring_regex(s, r"#\s+", "#")
    s = pc.replace_substring_regex(s, r"\s+#", " #")
    s = _abbreviate(pc.utf8_trim_whitespace(pc.replace_substring_regex(s, r"\s+", " ")))
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def _abbreviate(s: Strings) -> Strings:
    """USPS suffix and direction abbreviations, word by word (one lookup, not a regex each)."""
    words = pc.split_pattern(pc.fill_null(s, ""), " ")  # s: distinct values, one Array
    flat = pc.list_flatten(words)
    at = pc.index_in(flat, value_set=pa.array(list(_SUFFIXES)))
    short = pc.take(pa.array(list(_SUFFIXES.values())), at)
    lists = pa.ListArray.from_arrays(words.offsets, pc.coalesce(short, flat))
    return pc.binary_join(lists, " ")


def _where(primary: Strings, fallback: Strings) -> Strings:
    first = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(primary), 0, 5)
    first = pc.if_else(pc.equal(first, ""), pa.scalar(None, pa.string()), first)
    other = pc.utf8_upper(pc.utf8_trim_whitespace(fallback))
    other = pc.if_else(pc.equal(other, ""), pa.scalar(None, pa.string()), other)
    return pc.coalesce(first, other)


def address_keys(
    line: Strings, zip_code: Strings, city: Strings, cleaned: Strings | None = None
) -> Strings:
    """One dwelling: house number, street and unit, plus ZIP-5 (or city when no ZIP).

    ``cleaned`` is ``line`` already cleaned, when the caller has it (see :func:`clean_lines`).
    """
    cleaned = _clean(line) if cleaned is None else cleaned
    return pc.binary_join_element_wise(cleaned, _where(zip_code, city), "|")


def clean_lines(line: Strings) -> Strings:
    """Address lines as both keys compare them: computed once for a table's two keys."""
    return _clean(line)


@_per_distinct
def _street_of(cleaned: Strings) -> Strings:
    """The street of a cleaned line: house number and unit dropped."""
    s = pc.replace_substring_regex(cleaned, r"\s*#\S*", "")
    s = pc.replace_substring_regex(s, r"^(\S*[0-9]\S*\s+)+", "")
    s = pc.utf8_trim_whitespace(s)
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def street_keys(
    line: Strings, city: Strings, zip_code: Strings, cleaned: Strings | None = None
) -> Strings:
    """The street without house number or unit, plus city (or ZIP): neighbours share it."""
    s = _street_of(_clean(line) if cleaned is None else cleaned)
    where = pc.utf8_upper(pc.utf8_trim_whitespace(city))
    where = pc.if_else(pc.equal(where, ""), pa.scalar(None, pa.string()), where)
    return pc.binary_join_element_wise(s, pc.coalesce(where, _where(zip_code, city)), "|")


@_per_distinct
def phone_keys(phone: Strings) -> Strings:
    """The ten NANP digits of a phone number (a leading 1 dropped), else null."""
    d = pc.replace_substring_regex(phone, r"\D+", "")
    n = pc.utf8_length(d)
    d = pc.if_else(
        pc.and_(pc.equal(n, 11), pc.starts_with(d, "1")), pc.utf8_slice_codeunits(d, 1), d
    )
    return pc.if_else(pc.equal(pc.utf8_length(d), 10), d, pa.scalar(None, pa.string()))


@_per_distinct
def name_keys(name: Strings) -> Strings:
    """Plain upper-case letters of a name (hyphens, spaces, apostrophes dropped)."""
    s = pc.replace_substring_regex(pc.utf8_upper(name), r"[^A-Z]+", "")
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)


def sound_keys(name: Strings) -> Strings:
    """Metaphone of last names (Smith and Smyth, Jonson and Johnson share it)."""
    return _metaphones(name_keys(name))


@_per_distinct
def _metaphones(keys: Strings) -> Strings:
    return pa.array([jellyfish.metaphone(k) if k else None for k in keys.to_pylist()], pa.string())


def _one(fn: object, *values: str | None) -> str | None:
    arrays = [pa.array([v], pa.string()) for v in values]
    result = fn(*arrays)  # type: ignore[operator]
    return result[0].as_py()


def address_key(line: str | None, zip_code: str | None, city: str | None = None) -> str | None:
    """:func:`address_keys` of one address."""
    return _one(address_keys, line, zip_code, city)


def street_key(line: str | None, city: str | None, zip_code: str | None = None) -> str | None:
    """:func:`street_keys` of one address."""
    return _one(street_keys, line, city, zip_code)


def phone_key(phone: str | None) -> str | None:
    """:func:`phone_keys` of one number."""
    return _one(phone_keys, phone)


def sound_key(name: str | None) -> str | None:
    """:func:`sound_keys` of one name."""
    return _one(sound_keys, name)
