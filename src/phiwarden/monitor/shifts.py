"""Working hours learned from the hospital's own log, for users with no recorded shift.

Many exports carry no shift (HL7 master files have no field for one; FHIR's
``availableTime`` is often empty). A user's own openings show when they work: the
shortest run of hours of the day (wrapping midnight) that holds ``shift_learn_coverage``
of their openings in the window is taken as their shift, when it is at most
``shift_learn_max_hours`` long and they have at least ``shift_learn_min_openings``.
Users who work round the clock (or have too few openings) get none and are not judged
on hours. Snooping is a small share of anyone's openings, so it does not move the shift.
"""

from __future__ import annotations

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from phiwarden.monitor.context import Context

NAME = "learned_shifts"


def shortest_cover(hours: np.ndarray, coverage: float) -> tuple[int, int]:
    """(start, length) of the shortest circular run of hours holding ``coverage`` of counts."""
    total = float(hours.sum())
    need = coverage * total
    doubled = np.concatenate([hours, hours])
    best = (0, 24)
    for length in range(1, 25):
        sums = np.convolve(doubled, np.ones(length), "valid")[:24]
        start = int(np.argmax(sums))
        if sums[start] >= need:
            return start, length
    return best


def learned_shifts(ctx: Context) -> ir.Table:
    """``(uid, s, e)`` for users whose hours can be learned from the window's openings."""
    if NAME in ctx.tables:
        return ctx.tables[NAME]
    cfg = ctx.config
    o = ctx.openings
    counts = (
        o.group_by(uid=o.user_id, h=o.first.hour().cast("int64"))
        .aggregate(n=o.count())
        .to_pyarrow()
    )
    per_user: dict[str, np.ndarray] = {}
    for uid, h, n in zip(
        counts["uid"].to_pylist(), counts["h"].to_pylist(), counts["n"].to_pylist(), strict=True
    ):
        per_user.setdefault(uid, np.zeros(24))[int(h)] += int(n)
    users, starts, ends = [], [], []
    for uid, hours in per_user.items():
        if hours.sum() < cfg.shift_learn_min_openings:
            continue
        start, length = shortest_cover(hours, cfg.shift_learn_coverage)
        if length <= cfg.shift_learn_max_hours:
            users.append(uid)
            starts.append(start)
            ends.append((start + length) % 24)
    table = pa.table(
        {
            "uid": pa.array(users, pa.string()),
            "s": pa.array(starts, pa.int64()),
            "e": pa.array(ends, pa.int64()),
        }
    )
    ctx.tables[NAME] = ctx.register(NAME, table)
    return ctx.tables[NAME]
