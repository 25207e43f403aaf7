"""The time window of a synthetic hospital and the arithmetic of work shifts.

Times are int64 microseconds of naive wall clock. Legitimate work happens inside a
user's shift (night shifts wrap past midnight); :func:`snap_to_shift` moves a time that
falls outside it to the start of the user's next shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.synth.columns import DAY, HOUR, day_number
from phiwarden.synth.spec import SynthSpec

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LEAD_DAYS = 14


@dataclass(frozen=True)
class Window:
    """The days of access activity, and the two weeks of history before them."""

    start_day: int
    days: int

    @classmethod
    def of(cls, spec: SynthSpec) -> Window:
        """The window of a spec."""
        return cls(day_number(spec.start), spec.days)

    @property
    def end_day(self) -> int:
        """Day number after the last day."""
        return self.start_day + self.days

    @property
    def start(self) -> int:
        """Microseconds at the window's start."""
        return self.start_day * DAY

    @property
    def end(self) -> int:
        """Microseconds at the window's end (exclusive)."""
        return self.end_day * DAY

    @property
    def history(self) -> int:
        """Microseconds at the earliest encounter start."""
        return (self.start_day - LEAD_DAYS) * DAY

    def contains(self, ts: IntArray) -> BoolArray:
        """True for times inside the window."""
        return (ts >= self.start) & (ts < self.end)


def hour_of(ts: IntArray) -> npt.NDArray[np.float64]:
    """Fractional hour of day of times."""
    return (ts % DAY) / HOUR


def in_shift(ts: IntArray, start_h: IntArray, end_h: IntArray, margin_h: float = 0.25) -> BoolArray:
    """True where a time falls inside the shift (give or take ``margin_h`` hours)."""
    h = hour_of(ts)
    wraps = start_h > end_h
    inside = (h >= start_h - margin_h) & (h < end_h + margin_h)
    inside_wrap = (h >= start_h - margin_h) | (h < end_h + margin_h)
    return np.where(wraps, inside_wrap, inside)


def snap_to_shift(
    ts: IntArray, start_h: IntArray, end_h: IntArray, rng: np.random.Generator
) -> IntArray:
    """Times outside the shift moved to shortly after the start of the next shift."""
    out = ts.copy()
    outside = ~in_shift(ts, start_h, end_h)
    if outside.any():
        h = hour_of(ts[outside])
        wait = (start_h[outside] - h) % 24
        extra = rng.uniform(0.05, 0.75, int(outside.sum()))
        out[outside] = ts[outside] + ((wait + extra) * HOUR).astype(np.int64)
    return out


def shift_length(start_h: IntArray, end_h: IntArray) -> IntArray:
    """Hours in a shift."""
    return (end_h - start_h) % 24


def time_in_shift(
    day: IntArray, start_h: IntArray, end_h: IntArray, rng: np.random.Generator
) -> IntArray:
    """A random time inside the shift that starts on ``day``."""
    length = shift_length(start_h, end_h)
    offset = rng.random(len(day)) * length
    return day * DAY + ((start_h + offset) * HOUR).astype(np.int64)


def time_off_shift(
    day: IntArray, start_h: IntArray, end_h: IntArray, rng: np.random.Generator
) -> IntArray:
    """A random time in the middle of the off-duty hours after the shift starting on ``day``."""
    off = 24 - shift_length(start_h, end_h)
    offset = end_h + off * rng.uniform(0.3, 0.7, len(day))
    return day * DAY + (offset * HOUR).astype(np.int64)
