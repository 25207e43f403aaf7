"""Explanations mined from the hospital's own log, kept where the data supports them.

The hand-written templates (:mod:`phiwarden.monitor.explain`) need the records that tie a
user to a patient: registrations, calls, orders, appointments. An export that lacks them
(a FHIR export has no registrations or appointments) leaves whole roles unexplained, and
their chance hits on co-workers and neighbours become false alerts. Following
explanation-based auditing (Fabbri & LeFevre, PVLDB 2011), candidate paths are tried on
the accesses the templates left, per job role, one after the other, and a path is kept
for a role only when the log supports it:

- **facility_encounter**: user -> the facility of the user's department -> an encounter
  of the patient there, the access from ``encounter_before_hours`` before its start to
  ``encounter_after_hours`` after its end (front-desk staff check in whoever arrives);
- **facility_upcoming**: the same, the access up to ``mined_upcoming_days`` before the
  encounter starts (booking and pre-registering a visit).

A role keeps a path when at least ``mined_min_openings`` of its openings were still left,
the path explains at least ``mined_min_support`` of them, and that is at least
``mined_min_lift`` times what chance gives (the share of the patient index inside such a
span at a random moment, at the facilities where the role's openings are). Each
candidate is reported with its support and lift, kept or not (:attr:`Context.mined`, the
run's ``mined_templates`` statistic).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.monitor.config import MonitorConfig
from phiwarden.monitor.context import Context


@dataclass(frozen=True)
class MinedPath:
    """A candidate path: an encounter at the user's facility, and the span around it."""

    template: str
    #: the span starts this long before the encounter starts ...
    before_hours: float
    #: ... and ends this long after it ends (None: at its start)
    after_hours: float | None


def candidates(c: MonitorConfig) -> tuple[MinedPath, ...]:
    """The paths tried, in order, with the run's margins."""
    return (
        MinedPath("facility_encounter", c.encounter_before_hours, c.encounter_after_hours),
        MinedPath("facility_upcoming", c.mined_upcoming_days * 24, None),
    )


def _hours(h: float) -> ir.IntervalScalar:
    return ibis.interval(minutes=round(h * 60))


def chance_in_care(ctx: Context, path: MinedPath) -> dict[str, float]:
    """Per facility: the share of the patient index inside one of its encounters' spans at
    a random moment of the window (how often the path would hold by chance)."""
    w = ctx.window
    enc = ctx.arrow["encounters"].filter(pc.is_valid(ctx.arrow["encounters"]["facility_id"]))
    patients = ctx.arrow["patients"].num_rows
    if enc.num_rows == 0 or patients == 0:
        return {}
    ts = enc["start"].type
    us = 3_600_000_000

    def micros(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        return np.asarray(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False))

    lo = micros(pa.array([w.start], ts))[0]
    hi = micros(pa.array([w.end], ts))[0]
    start = micros(enc["start"])
    t0 = np.maximum(start - int(path.before_hours * us), lo)
    if path.after_hours is None:
        t1 = np.minimum(start, hi)
    else:
        end = micros(pc.fill_null(enc["end"], pa.scalar(w.end, ts)))
        t1 = np.minimum(end + int(path.after_hours * us), hi)
    covered = np.clip(t1 - t0, 0, None).astype(float)
    facilities = enc["facility_id"].to_pylist()
    out: dict[str, float] = {}
    for fac, span in zip(facilities, covered.tolist(), strict=True):
        out[fac] = out.get(fac, 0.0) + span
    return {fac: float(span / ((hi - lo) * patients)) for fac, span in out.items()}


def with_mined(
    ctx: Context,
    out: ir.Table,
    ranks: Mapping[str, int],
    cache: Callable[[ir.Table], ir.Table],
) -> ir.Table:
    """Try each candidate path in turn; credit its rank where a kept path explains."""
    ctx.mined = []
    for path in candidates(ctx.config):
        out = cache(_try(ctx, out, path, ranks[path.template], cache))
    return out


def _try(
    ctx: Context,
    out: ir.Table,
    path: MinedPath,
    rank: int,
    cache: Callable[[ir.Table], ir.Table],
) -> ir.Table:
    c = ctx.config
    w, d, enc = ctx["workforce"], ctx["departments"], ctx["encounters"]
    users = w.left_join(d, w.department_id == d.department_id).select(
        uid=w.user_id, role=w.role.fill_null("other"), fac=d.facility_id
    )
    left = out.filter(out.rank.isnull())
    left = cache(
        left.join(users, left.user_id == users.uid).select(
            lu=left.user_id,
            lp=left.patient_id,
            lh=left.hour,
            lf=left.first,
            role=users.role,
            fac=users.fac,
        )
    )
    if path.after_hours is None:
        until = enc.start
    else:
        until = enc.end.fill_null(ibis.literal(ctx.window.end)) + _hours(path.after_hours)
    spans = enc.filter(enc.facility_id.notnull()).select(
        sf=enc.facility_id,
        sp=enc.patient_id,
        t0=(enc.start - _hours(path.before_hours)).cast("timestamp"),
        t1=until.cast("timestamp"),
    )
    hit = cache(
        left.join(
            spans,
            [left.fac == spans.sf, left.lp == spans.sp, left.lf >= spans.t0, left.lf <= spans.t1],
        )
        .select(hu=left.lu, hp=left.lp, hh=left.lh, hr=left.role)
        .distinct()
    )
    by_facility = left.group_by(["role", "fac"]).aggregate(openings=left.count()).to_pyarrow()
    counts = hit.group_by(hit.hr).aggregate(n=hit.count()).to_pyarrow()
    found = dict(zip(counts["hr"].to_pylist(), counts["n"].to_pylist(), strict=True))
    chance_at = chance_in_care(ctx, path)
    tried: dict[str, list[float]] = {}  # role -> [openings, openings expected by chance]
    for row in by_facility.to_pylist():
        seen = tried.setdefault(row["role"], [0.0, 0.0])
        seen[0] += row["openings"]
        seen[1] += row["openings"] * chance_at.get(row["fac"], 0.0)
    kept: list[str] = []
    for role, (openings, by_chance) in sorted(tried.items(), key=lambda kv: -kv[1][0]):
        support = found.get(role, 0) / openings if openings else 0.0
        lift = found.get(role, 0) / by_chance if by_chance else 0.0
        accepted = bool(
            openings >= c.mined_min_openings
            and support >= c.mined_min_support
            and lift >= c.mined_min_lift
        )
        ctx.mined.append(
            {
                "template": path.template,
                "role": role,
                "openings": int(openings),
                "support": round(support, 4),
                "lift": round(float(lift), 1),
                "kept": accepted,
            }
        )
        if accepted:
            kept.append(role)
    if not kept:
        return out
    credit = hit.filter(hit.hr.isin(kept))
    joined = out.left_join(
        credit, [out.user_id == credit.hu, out.patient_id == credit.hp, out.hour == credit.hh]
    )
    mined = joined.hu.notnull() & joined.rank.isnull()
    return joined.select(
        *(col for col in out.columns if col != "rank"),
        rank=mined.ifelse(ibis.literal(rank, "int16"), joined.rank),
    )
