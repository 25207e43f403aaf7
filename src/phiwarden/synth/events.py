"""Access events as numpy columns, and writing them as one Parquet file per day.

Events are held as integer arrays (user and patient positions, action codes) until they
are written; each day's strings are then made by Arrow ``take`` from small id
dictionaries, so ten million events never become Python strings. Files are sorted by
time and numbered in time order (``A`` + 10 digits) across the whole window.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.domain.enums import AccessAction
from phiwarden.synth.columns import DAY, US, fixed_ids, ts_array
from phiwarden.synth.ids import dept_ids, patient_ids, user_ids
from phiwarden.synth.organization import Org
from phiwarden.synth.timeline import Window

IntArray = npt.NDArray[np.int64]

ACTIONS: tuple[str, ...] = tuple(a.value for a in AccessAction)
VIEW, UPDATE, PRINT, SEARCH = (
    ACTIONS.index(a.value)
    for a in (AccessAction.VIEW, AccessAction.UPDATE, AccessAction.PRINT, AccessAction.SEARCH)
)
BTG_REASONS: tuple[str, ...] = (
    "Emergency treatment",
    "Patient unresponsive",
    "Direct patient care",
    "Consult requested",
)
SOURCE_SYSTEM = "EHR"


@dataclass
class Events:
    """Access events as parallel arrays (not yet sorted)."""

    ts: IntArray
    user: npt.NDArray[np.int32]
    patient: npt.NDArray[np.int32]
    action: npt.NDArray[np.int8]
    btg: npt.NDArray[np.bool_]
    reason: npt.NDArray[np.int8]  # index into BTG_REASONS, -1 for none

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def of(cls, ts: IntArray, user: IntArray, patient: IntArray, action: npt.ArrayLike) -> Events:
        """Events without break-the-glass."""
        n = len(ts)
        return cls(
            ts.astype(np.int64),
            user.astype(np.int32),
            patient.astype(np.int32),
            np.asarray(action, dtype=np.int8),
            np.zeros(n, dtype=bool),
            np.full(n, -1, dtype=np.int8),
        )

    def select(self, mask: npt.NDArray[np.bool_] | IntArray) -> Events:
        """The events at a mask or index array."""
        return Events(
            self.ts[mask],
            self.user[mask],
            self.patient[mask],
            self.action[mask],
            self.btg[mask],
            self.reason[mask],
        )

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """All events of several batches."""
        return Events(
            np.concatenate([p.ts for p in parts]),
            np.concatenate([p.user for p in parts]),
            np.concatenate([p.patient for p in parts]),
            np.concatenate([p.action for p in parts]),
            np.concatenate([p.btg for p in parts]),
            np.concatenate([p.reason for p in parts]),
        )


def draw_actions(
    rng: np.random.Generator,
    n: int,
    update: float = 0.14,
    printed: float = 0.04,
    search: float = 0.02,
) -> npt.NDArray[np.int8]:
    """Action codes: mostly view, some update, print and search."""
    u = rng.random(n)
    out = np.full(n, VIEW, dtype=np.int8)
    out[u < update + printed + search] = SEARCH
    out[u < update + printed] = PRINT
    out[u < update] = UPDATE
    return out


def _workstations(org: Org) -> tuple[pa.Array, IntArray, IntArray]:
    """Workstation names per department ('WS-D001-01'...), first index and count per department."""
    n_dept = len(org.dept_name)
    count = np.maximum(2, np.bincount(org.dept, minlength=n_dept) // 2 + 1)
    base = np.concatenate([[0], np.cumsum(count)[:-1]])
    dept_of = np.repeat(np.arange(n_dept), count)
    number = np.arange(int(count.sum())) - base[dept_of] + 1
    names = pc.binary_join_element_wise("WS-", dept_ids(dept_of), "-", fixed_ids("", number, 2), "")
    return names, base, count


def write_events(
    events: Events,
    root: Path,
    window: Window,
    org: Org,
    n_patients: int,
    rng: np.random.Generator,
    progress: Callable[[str, int, int], None] | None = None,
) -> int:
    """Write ``root/day=YYYY-MM-DD/part-0.parquet`` for every day of the window; return rows."""
    seconds = events.ts - events.ts % US  # audit logs keep whole seconds
    order = np.argsort(seconds, kind="stable")
    ev = events.select(order)
    ev.ts = seconds[order]
    n = len(ev)
    users = user_ids(np.arange(org.n_users))
    patients = patient_ids(np.arange(n_patients))
    dept = org.dept[ev.user]
    depts = dept_ids(np.arange(len(org.dept_name)))
    names, base, count = _workstations(org)
    drift = (rng.random(n) < 0.2).astype(np.int64)
    ws = base[dept] + (ev.user.astype(np.int64) * 7 + ev.ts // DAY + drift) % count[dept]
    actions = pa.array(list(ACTIONS))
    reasons = pa.array(list(BTG_REASONS))
    source = pa.array([SOURCE_SYSTEM])
    success = pa.array(["success"])
    edges = np.searchsorted(ev.ts, window.start + DAY * np.arange(window.days + 1))

    def write_day(d: int) -> None:
        lo, hi = int(edges[d]), int(edges[d + 1])
        sl = slice(lo, hi)
        reason = ev.reason[sl].astype(np.int64)
        no_reason = reason < 0
        table = pa.Table.from_arrays(
            [
                fixed_ids("A", np.arange(lo + 1, hi + 1), 10),
                ts_array(ev.ts[sl]),
                users.take(pa.array(ev.user[sl])),
                patients.take(pa.array(ev.patient[sl])),
                actions.take(pa.array(ev.action[sl])),
                source.take(pa.array(np.zeros(hi - lo, dtype=np.int8))),
                names.take(pa.array(ws[sl])),
                depts.take(pa.array(dept[sl])),
                pa.array(ev.btg[sl]),
                reasons.take(pa.array(np.where(no_reason, 0, reason), mask=no_reason)),
                success.take(pa.array(np.zeros(hi - lo, dtype=np.int8))),
            ],
            schema=ACCESS_EVENTS.schema,
        )
        day = np.datetime64(window.start_day + d, "D")
        folder = root / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")

    root.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, _ in enumerate(pool.map(write_day, range(window.days)), start=1):
            if progress is not None:
                progress("writing access events", done, window.days)
    return int(edges[-1] - edges[0])
