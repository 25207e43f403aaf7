"""Social Security numbers that fit a date of birth, and ones that were never issued.

Rules (REFERENCE.md section 2): area 000, 666 and 900-999, group 00 and serial 0000 are
never issued, nor the advertising numbers; randomisation began 2011-06-25, before which
areas 734-749 and 773-899 were never used. People born before randomisation get an area
001-733; people born after it get any valid area.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.synth.columns import (
    concat,
    contains_sorted,
    day_number,
    first_occurrences,
    fixed_ids,
)

IntArray = npt.NDArray[np.int64]

ADVERTISING: tuple[int, ...] = (78051120, 219099999, 457555462, *range(987654320, 987654330))
RANDOMISATION_DAY = day_number(date(2011, 6, 25))


def parts(ssn: str) -> tuple[int, int, int] | None:
    """(area, group, serial) of a 9-digit SSN with or without dashes; None if malformed."""
    digits = ssn.replace("-", "")
    if len(digits) != 9 or not digits.isdigit():
        return None
    return int(digits[:3]), int(digits[3:5]), int(digits[5:])


def is_valid(ssn: str | None) -> bool:
    """True if the number could have been issued (python-stdnum ``us.ssn`` rules)."""
    p = parts(ssn) if ssn else None
    if p is None:
        return False
    area, group, serial = p
    if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
        return False
    return area * 1_000_000 + group * 10_000 + serial not in ADVERTISING


def issued_after_randomisation(ssn: str) -> bool:
    """True if the area was only used after 2011-06-25 (734-749 or 773-899)."""
    p = parts(ssn)
    return p is not None and (734 <= p[0] <= 749 or 773 <= p[0] <= 899)


def fmt(values: npt.ArrayLike) -> pa.Array:
    """Format 9-digit integers as ``AAA-GG-SSSS``."""
    v = np.asarray(values, dtype=np.int64)
    digits = fixed_ids("", v, 9)
    return concat(
        pc.utf8_slice_codeunits(digits, 0, 3),
        "-",
        pc.utf8_slice_codeunits(digits, 3, 5),
        "-",
        pc.utf8_slice_codeunits(digits, 5, 9),
    )


def _areas_before(rng: np.random.Generator, n: int) -> IntArray:
    area = rng.integers(1, 733, size=n, endpoint=True)
    return np.where(area == 666, 665, area)


def _areas_random(rng: np.random.Generator, n: int) -> IntArray:
    area = rng.integers(1, 899, size=n, endpoint=True)
    return np.where(area == 666, 667, area)


def _areas_late(rng: np.random.Generator, n: int) -> IntArray:
    pick = rng.integers(0, 16 + 127, size=n)
    return np.where(pick < 16, 734 + pick, 773 + pick - 16)


class SsnAllocator:
    """Draws SSNs that are unique across everyone it has handed numbers to."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: IntArray = np.sort(np.array(list(ADVERTISING), dtype=np.int64))

    def _unique(self, area_fn: str, n: int) -> IntArray:
        out = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        draw = {"before": _areas_before, "random": _areas_random, "late": _areas_late}[area_fn]
        while len(todo):
            m = len(todo)
            area = draw(self.rng, m)
            group = self.rng.integers(1, 99, size=m, endpoint=True)
            serial = self.rng.integers(1, 9999, size=m, endpoint=True)
            cand = area * 1_000_000 + group * 10_000 + serial
            ok = first_occurrences(cand) & ~contains_sorted(self.used, cand)
            out[todo[ok]] = cand[ok]
            self.used = np.sort(np.concatenate([self.used, cand[ok]]))
            todo = todo[~ok]
        return out

    def for_births(self, dob_days: npt.ArrayLike) -> IntArray:
        """SSNs plausible for each date of birth (randomised era after 2011-06-25)."""
        dob = np.asarray(dob_days, dtype=np.int64)
        out = np.zeros(len(dob), dtype=np.int64)
        late = dob >= RANDOMISATION_DAY
        out[~late] = self._unique("before", int((~late).sum()))
        out[late] = self._unique("random", int(late.sum()))
        return out

    def issued_late(self, n: int) -> IntArray:
        """Valid SSNs from areas only issued after randomisation (734-749, 773-899)."""
        return self._unique("late", n)


def never_issued(rng: np.random.Generator, n: int) -> list[str]:
    """SSNs that were never issued: bad area, group 00, serial 0000 or an advertising number."""
    out: list[str] = []
    for i in range(n):
        kind = (i + int(rng.integers(0, 5))) % 5
        group = int(rng.integers(1, 99, endpoint=True))
        serial = int(rng.integers(1, 9999, endpoint=True))
        area = int(rng.integers(1, 733, endpoint=True))
        if kind == 0:
            area = int(rng.choice([0, 666]))
        elif kind == 1:
            area = int(rng.integers(900, 999, endpoint=True))
        elif kind == 2:
            group = 0
        elif kind == 3:
            serial = 0
        else:
            v = ADVERTISING[int(rng.integers(0, len(ADVERTISING)))]
            area, group, serial = v // 1_000_000, v // 10_000 % 100, v % 10_000
        out.append(f"{area:03d}-{group:02d}-{serial:04d}")
    return out
