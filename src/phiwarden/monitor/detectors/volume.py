"""Volume: a day with far more unexplained patients than the user's baseline and peers'."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from phiwarden.monitor.distinct import sorted_codes
from phiwarden.monitor.robust import MAD_SCALE, median_mad
from phiwarden.monitor.signals import Detector, Inputs, signal


def unusual_days(inputs: Inputs) -> list[tuple[str, date, str]]:
    """(user, day, evidence) of window days above both the user's and the peers' baseline.

    Baselines cover every day of stored history plus the window, a day without any
    unexplained patient counting as zero; peers are the users with the same department
    and role (the user included: the median is robust to them). One (users x days) grid,
    medians along its rows: no loop over users or days.
    """
    cfg = inputs.ctx.config
    history = inputs.history
    if not history.num_rows:
        return []
    users, row = sorted_codes(history["user_id"])
    days, column = np.unique(_days(history["day"]), return_inverse=True)
    grid = np.zeros((len(users), len(days)))
    grid[row, column] = np.asarray(history["unexplained_patients"].to_numpy(), dtype=float)
    med = np.median(grid, axis=1)
    mad = np.median(np.abs(grid - med[:, None]), axis=1) * MAD_SCALE
    dept, role = inputs.of_users("department_id"), inputs.of_users("role")
    groups: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for i, user in enumerate(users.tolist()):
        groups[(dept.get(user), role.get(user))].append(i)
    pmed, pmad = np.zeros(len(users)), np.zeros(len(users))
    for rows in groups.values():  # one median per peer group
        pmed[rows], pmad[rows] = median_mad(grid[rows].ravel())
    since = np.datetime64(inputs.ctx.window.since, "D")
    z = cfg.volume_z
    hit = (
        (days >= since)[None, :]
        & (grid >= cfg.volume_min_patients)
        & (grid > (med + z * np.maximum(mad, 1.0))[:, None])
        & (grid > (pmed + z * np.maximum(pmad, 1.0))[:, None])
    )
    out: list[tuple[str, date, str]] = []
    for i, j in zip(*np.nonzero(hit), strict=True):  # the flagged days only
        day = days[j].astype(date)
        out.append(
            (
                str(users[i]),
                day,
                f"{int(grid[i, j])} unexplained patients on {day.isoformat()}; "
                f"usual {med[i]:g} a day, peers {pmed[i]:g}",
            )
        )
    return out


def _days(values: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(
        values.cast(pa.date32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]"
    )


def find(inputs: Inputs) -> ir.Table:
    """The patients opened, unexplained, on each unusual day."""
    flagged = unusual_days(inputs)
    table = pa.table(
        {
            "fu": pa.array([f[0] for f in flagged], pa.string()),
            "fday": pa.array([f[1] for f in flagged], pa.date32()),
            "why": pa.array([f[2] for f in flagged], pa.string()),
        }
    )
    days = inputs.ctx.register("unusual_days", table)
    u = inputs.unexplained
    j = u.join(days, [u.user_id == days.fu, u.first.date() == days.fday])
    return signal(j, j.user_id, j.patient_id, j.why)


DETECTOR = Detector(
    code="volume",
    title="Unusual volume",
    weight=1.5,
    why="Bulk browsing shows as a day with many more unexplained patients than the user "
    "usually has and than colleagues in the same department and role have.",
    reason="opened {n} unexplained patient(s) on days far above the usual volume",
    find=find,
    per_patient=False,
)
