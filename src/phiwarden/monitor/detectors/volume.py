"""Volume: a day with far more unexplained patients than the user's baseline and peers'."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from phiwarden.monitor.robust import median_mad
from phiwarden.monitor.signals import Detector, Inputs, signal


def unusual_days(inputs: Inputs) -> list[tuple[str, date, str]]:
    """(user, day, evidence) of window days above both the user's and the peers' baseline.

    Baselines cover every day of stored history plus the window, a day without any
    unexplained patient counting as zero; peers are the users with the same department
    and role (the user included: the median is robust to them).
    """
    cfg = inputs.ctx.config
    history = inputs.history
    if not history:
        return []
    all_days = sorted({d for _, d, _ in history})
    column = {d: i for i, d in enumerate(all_days)}
    users = sorted({u for u, _, _ in history})
    row = {u: i for i, u in enumerate(users)}
    grid = np.zeros((len(users), len(all_days)))
    for user, day, n in history:
        grid[row[user], column[day]] = n
    dept, role = inputs.of_users("department_id"), inputs.of_users("role")
    group_of = {u: (dept[u], role[u]) for u in dept}
    members: dict[tuple[str | None, str | None], list[int]] = defaultdict(list)
    for user in users:
        members[group_of.get(user, (None, None))].append(row[user])
    peer_stats = {g: median_mad(grid[rows].ravel()) for g, rows in members.items()}
    out: list[tuple[str, date, str]] = []
    for user in users:
        values = grid[row[user]]
        med, mad = median_mad(values)
        pmed, pmad = peer_stats[group_of.get(user, (None, None))]
        for i, n in enumerate(values):
            if all_days[i] < inputs.ctx.window.since or n < cfg.volume_min_patients:
                continue
            if n > med + cfg.volume_z * max(mad, 1.0) and n > pmed + cfg.volume_z * max(pmad, 1.0):
                out.append(
                    (
                        user,
                        all_days[i],
                        f"{int(n)} unexplained patients on {all_days[i].isoformat()}; "
                        f"usual {med:g} a day, peers {pmed:g}",
                    )
                )
    return out


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
