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
from phiwarden.monitor.distinct import sorted_codes

NAME = "learned_shifts"


def shortest_cover(hours: np.ndarray, coverage: float) -> tuple[int, int]:
    """(start, length) of the shortest circular run of hours holding ``coverage`` of counts."""
    starts, lengths = shortest_covers(np.asarray(hours, dtype=float)[None, :], coverage)
    return int(starts[0]), int(lengths[0])


def shortest_covers(hours: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shortest_cover` of every row of a (users x 24) matrix of counts at once.

    For each length from 1 to 24 hours, every user's best start is the first start whose
    run holds the most; a user keeps the first length whose best run holds ``coverage``.
    """
    users = hours.shape[0]
    need = coverage * hours.sum(axis=1)
    cum = np.concatenate([np.zeros((users, 1)), np.cumsum(np.tile(hours, 2), axis=1)], axis=1)
    starts = np.zeros(users, dtype=np.int64)
    lengths = np.full(users, 24, dtype=np.int64)
    open_ = np.ones(users, dtype=bool)
    first = np.arange(24)
    for length in range(1, 25):
        sums = cum[:, first + length] - cum[:, first]
        best = np.argmax(sums, axis=1)
        hit = open_ & (sums[np.arange(users), best] >= need)
        starts[hit], lengths[hit] = best[hit], length
        open_ &= ~hit
    return starts, lengths


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
    users, row = sorted_codes(counts["uid"])
    hours = np.zeros((len(users), 24))
    np.add.at(hours, (row, counts["h"].to_numpy()), counts["n"].to_numpy())
    starts, lengths = shortest_covers(hours, cfg.shift_learn_coverage)
    keep = (hours.sum(axis=1) >= cfg.shift_learn_min_openings) & (
        lengths <= cfg.shift_learn_max_hours
    )
    table = pa.table(
        {
            "uid": pa.array(users[keep], pa.string()),
            "s": pa.array(starts[keep], pa.int64()),
            "e": pa.array((starts[keep] + lengths[keep]) % 24, pa.int64()),
        }
    )
    ctx.tables[NAME] = ctx.register(NAME, table)
    return ctx.tables[NAME]
