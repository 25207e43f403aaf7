"""Duplicate charts merged into a surviving patient (HL7 ADT A40), with retired MRNs.

About one patient in a hundred once had a duplicate chart that health information
management merged into theirs, mostly long ago and a few during the window; the HIM
analyst who merged opens the surviving chart while doing it (a workflow the access
monitor must recognise). Retired chart ids and MRNs continue the numbering after the
living patients, so they never collide with a current one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.synth.columns import DAY, HOUR, Frame, fixed_ids, to_weekday
from phiwarden.synth.ids import ids, patient_ids, user_ids
from phiwarden.synth.organization import Org, R
from phiwarden.synth.population import Population
from phiwarden.synth.staff import Staffing
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]

MERGED_SHARE = 0.01
IN_WINDOW_SHARE = 0.1


@dataclass
class Merges:
    """Merge rows: surviving patient, when and by whom."""

    surviving: IntArray
    at: IntArray
    by: IntArray

    @property
    def n(self) -> int:
        """Number of merges."""
        return len(self.surviving)


def build_merges(
    window: Window, org: Org, pop: Population, staff: Staffing, rng: np.random.Generator
) -> Merges:
    """Past and in-window merges of duplicate charts, each by an HIM analyst on shift."""
    established = np.flatnonzero(~pop.new)
    n = max(1, round(MERGED_SHARE * len(established)))
    surviving = np.sort(rng.choice(established, size=min(n, len(established)), replace=False))
    recent = rng.random(len(surviving)) < IN_WINDOW_SHARE
    day = np.where(
        recent,
        window.start_day + rng.integers(0, window.days, len(surviving)),
        window.start_day - rng.integers(30, 2500, len(surviving)),
    )
    day = np.minimum(to_weekday(day), window.end_day - 1)
    at = day * DAY + ((9 + rng.random(len(surviving)) * 7) * HOUR).astype(np.int64)
    at = np.maximum(at, pop.dob[surviving] * DAY + DAY)
    him = np.full(len(surviving), org.depts(DepartmentKind.HIM)[0])
    by = staff.pick(R[Role.HIM_ANALYST], him, at, rng)
    return Merges(surviving=surviving, at=at, by=by)


def merges_frame(merges: Merges, pop: Population) -> Frame:
    """The ``patient_merges`` table columns."""
    retired = pop.n + np.arange(merges.n)
    return {
        "merge_id": ids("MG", np.arange(merges.n), 7),
        "surviving_patient_id": patient_ids(merges.surviving),
        "merged_patient_id": patient_ids(retired),
        "merged_mrn": fixed_ids("", 10_000_001 + retired, 8),
        "merged_at": merges.at,
        "merged_by_user_id": user_ids(merges.by),
    }
