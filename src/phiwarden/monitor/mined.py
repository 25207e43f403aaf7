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
  encounter starts (pre-registering a visit);
- **facility_booking**: user -> facility -> an appointment there booked (``created``)
  within ``record_margin_hours`` of the access (R4 does not say who booked it).

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
from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.monitor.config import MonitorConfig
from phiwarden.monitor.context import Context

TS = pa.timestamp("us")


@dataclass(frozen=True)
class MinedPath:
    """A candidate path: a record at the user's facility, and the span around it."""

    template: str
    #: "encounter" (its start..end) or "booking" (an appointment's creation time)
    source: str
    #: the span starts this long before the record's start ...
    before_hours: float
    #: ... and ends this long after its end (None: at its start)
    after_hours: float | None


def candidates(c: MonitorConfig) -> tuple[MinedPath, ...]:
    """The paths tried, in order, with the run's margins."""
    return (
        MinedPath(
            "facility_encounter", "encounter", c.encounter_before_hours, c.encounter_after_hours
        ),
        MinedPath("facility_upcoming", "encounter", c.mined_upcoming_days * 24, None),
        MinedPath("facility_booking", "booking", c.record_margin_hours, c.record_margin_hours),
    )


def spans_of(ctx: Context, path: MinedPath) -> pa.Table:
    """(facility, patient, t0, t1) of every record the path can explain an access with."""
    a = ctx.arrow
    if path.source == "encounter":
        rec = a["encounters"]
        facility, start = rec["facility_id"], rec["start"]
        end = pc.fill_null(rec["end"], pa.scalar(ctx.window.end, TS))
    else:
        rec = a["appointments"]
        depts = a["departments"]
        at = pc.index_in(rec["department_id"], value_set=depts["department_id"].combine_chunks())
        facility = pc.take(depts["facility_id"].combine_chunks(), at).cast(pa.string())
        start = end = rec["scheduled_at"]
    before = pa.scalar(timedelta(hours=path.before_hours), pa.duration("us"))
    t0 = pc.subtract(pc.cast(start, TS), before)
    if path.after_hours is None:
        t1 = pc.cast(start, TS)
    else:
        t1 = pc.add(
            pc.cast(end, TS), pa.scalar(timedelta(hours=path.after_hours), pa.duration("us"))
        )
    table = pa.table({"sf": facility, "sp": rec["patient_id"], "t0": t0, "t1": t1})
    return table.filter(pc.and_(pc.is_valid(table["sf"]), pc.is_valid(table["t0"])))


def chance_in_spans(ctx: Context, spans: pa.Table) -> dict[str, float]:
    """Per facility: the share of the patient index inside one of its spans at a random
    moment of the window (how often the path would hold by chance)."""
    patients = ctx.arrow["patient_index"].num_rows
    if spans.num_rows == 0 or patients == 0:
        return {}

    def micros(values: Any) -> np.ndarray:
        return np.asarray(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False))

    lo, hi = (micros(pa.array([t], TS))[0] for t in (ctx.window.start, ctx.window.end))
    t0 = np.maximum(micros(spans["t0"]), lo)
    t1 = np.minimum(micros(spans["t1"]), hi)
    covered = np.clip(t1 - t0, 0, None).astype(float)
    per = pa.table({"sf": spans["sf"], "span": covered}).group_by("sf").aggregate([("span", "sum")])
    return {
        fac: float(span / ((hi - lo) * patients))
        for fac, span in zip(per["sf"].to_pylist(), per["span_sum"].to_pylist(), strict=True)
    }


def mined_credits(
    ctx: Context,
    left: ir.Table,
    ranks: Mapping[str, int],
    cache: Callable[[ir.Table], ir.Table],
) -> ir.Table | None:
    """(user_id, patient_id, hour, rank) of the openings ``left`` unexplained that a kept
    path explains, trying each candidate on what the earlier ones left; None if none."""
    ctx.mined = []
    w, d = ctx["workforce"], ctx["departments"]
    users = w.left_join(d, w.department_id == d.department_id).select(
        uid=w.user_id, role=w.role.fill_null("other"), fac=d.facility_id
    )
    todo = cache(
        left.join(users, left.user_id == users.uid).select(
            lu=left.user_id,
            lp=left.patient_id,
            lh=left.hour,
            lf=left.first,
            role=users.role,
            fac=users.fac,
        )
    )
    credits: list[ir.Table] = []
    for path in candidates(ctx.config):
        credit = _try(ctx, todo, path, cache)
        if credit is None:
            continue
        credits.append(
            credit.select(
                user_id=credit.hu,
                patient_id=credit.hp,
                hour=credit.hh,
                rank=ibis.literal(ranks[path.template], "int16"),
            )
        )
        todo = cache(
            todo.anti_join(
                credit, [todo.lu == credit.hu, todo.lp == credit.hp, todo.lh == credit.hh]
            )
        )
    return ibis.union(*credits) if credits else None


def _try(
    ctx: Context, todo: ir.Table, path: MinedPath, cache: Callable[[ir.Table], ir.Table]
) -> ir.Table | None:
    """The openings of ``todo`` the path explains for the roles that keep it (or None)."""
    c = ctx.config
    arrow_spans = spans_of(ctx, path)
    spans = ctx.register(f"mined_{path.template}", arrow_spans)
    hit = cache(
        todo.join(
            spans,
            [todo.fac == spans.sf, todo.lp == spans.sp, todo.lf >= spans.t0, todo.lf <= spans.t1],
        )
        .select(hu=todo.lu, hp=todo.lp, hh=todo.lh, hr=todo.role)
        .distinct()
    )
    by_facility = todo.group_by(["role", "fac"]).aggregate(openings=todo.count()).to_pyarrow()
    counts = hit.group_by(hit.hr).aggregate(n=hit.count()).to_pyarrow()
    found = dict(zip(counts["hr"].to_pylist(), counts["n"].to_pylist(), strict=True))
    chance_at = chance_in_spans(ctx, arrow_spans)
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
    return hit.filter(hit.hr.isin(kept)) if kept else None
