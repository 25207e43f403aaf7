"""US driver's licence numbers by state format.

A value after a licence cue ("Driver's license", "DL #") counts as a licence only if it
has the layout of some state's licence: letters (A) and digits (N) in the counts below.
The layouts are the states' published formats as collected in the widely used summary of
the National Traffic Safety Institute (NTSI) and AAMVA's DL/ID card design standard
(annex D lists the jurisdictions' number formats); a state that changes its format is one
line here. Washington's 12-character mixed format is taken as 12 letters or digits.
"""

from __future__ import annotations

import functools
import re

#: state -> its layouts: "A" a letter, "N" a digit, "X" either, with counts or ranges
FORMATS: dict[str, tuple[str, ...]] = {
    "AL": ("N{1,8}",),
    "AK": ("N{1,7}",),
    "AZ": ("AN{8}", "N{9}"),
    "AR": ("N{4,9}",),
    "CA": ("AN{7}",),
    "CO": ("N{9}", "AN{3,6}", "A{2}N{2,5}"),
    "CT": ("N{9}",),
    "DE": ("N{1,7}",),
    "DC": ("N{7}", "N{9}"),
    "FL": ("AN{12}",),
    "GA": ("N{7,9}",),
    "HI": ("AN{8}", "N{9}"),
    "ID": ("A{2}N{6}A", "N{9}"),
    "IL": ("AN{11,12}",),
    "IN": ("AN{9}", "N{9,10}"),
    "IA": ("N{9}", "N{3}A{2}N{4}"),
    "KS": ("ANANA", "AN{8}", "N{9}"),
    "KY": ("AN{8,9}", "N{9}"),
    "LA": ("N{1,9}",),
    "ME": ("N{7,8}", "N{7}A"),
    "MD": ("AN{12}",),
    "MA": ("AN{8}", "N{9}"),
    "MI": ("AN{10}", "AN{12}"),
    "MN": ("AN{12}",),
    "MS": ("N{9}",),
    "MO": ("AN{5,9}", "AN{6}R", "N{8}A{2}", "N{9}A", "N{9}"),
    "MT": ("ANXN{2}A{3}N", "N{13}", "N{9}", "N{14}"),
    "NE": ("AN{6,8}",),
    "NV": ("N{9,10}", "N{12}", "XN{8}"),
    "NH": ("N{2}A{3}N{5}",),
    "NJ": ("AN{14}",),
    "NM": ("N{8,9}",),
    "NY": ("AN{7}", "AN{18}", "N{8,9}", "N{16}", "A{8}"),
    "NC": ("N{1,12}",),
    "ND": ("A{3}N{6}", "N{9}"),
    "OH": ("AN{4,8}", "A{2}N{3,7}", "N{8}"),
    "OK": ("AN{9}", "N{9}"),
    "OR": ("N{1,9}",),
    "PA": ("N{8}",),
    "RI": ("N{7}", "AN{6}"),
    "SC": ("N{5,11}",),
    "SD": ("N{6,10}", "N{12}"),
    "TN": ("N{7,9}",),
    "TX": ("N{7,8}",),
    "UT": ("N{4,10}",),
    "VT": ("N{8}", "N{7}A"),
    "VA": ("AN{8,11}", "N{9}"),
    "WA": ("X{12}",),
    "WV": ("N{7}", "A{1,2}N{5,6}"),
    "WI": ("AN{13}",),
    "WY": ("N{9,10}",),
}

_CLASS = {"A": "[A-Z]", "N": "[0-9]", "X": "[A-Z0-9]"}


def _regex(layout: str) -> str:
    return re.sub(
        r"([ANX])(\{[0-9,]+\})?", lambda m: _CLASS[m.group(1)] + (m.group(2) or ""), layout
    )


@functools.cache
def _any_state() -> re.Pattern[str]:
    layouts = sorted({_regex(f) for formats in FORMATS.values() for f in formats})
    return re.compile("(?:" + "|".join(layouts) + ")")


def fits_a_state(value: str) -> bool:
    """True when ``value`` (letters upper-cased, spaces and dashes dropped) has the
    layout of some state's driver's licence number."""
    compact = re.sub(r"[\s-]", "", value).upper()
    return bool(_any_state().fullmatch(compact)) and any(c.isdigit() for c in compact)


def states_for(value: str) -> list[str]:
    """The states whose layout ``value`` fits."""
    compact = re.sub(r"[\s-]", "", value).upper()
    return [
        state
        for state, formats in FORMATS.items()
        if any(re.fullmatch(_regex(f), compact) for f in formats)
    ]
