"""Explanations: which accesses a care relationship, a record or a job's workflow explains.

An access is explained when a template holds for (user, patient, time). Templates come in
three shapes, each one join against the window's accesses:

- the **user's own** relationship to the patient: on the encounter's care team or its
  attending; ordered, resulted or prescribed for the patient; booked or is the provider of
  an appointment; registered the patient; took a call about the patient; merged the chart;
- the **user's department's**: the department had an encounter with the patient, or
  performs an order for the patient (lab, radiology), or a colleague in the department
  holds one of the record relationships above at that time (covering for them);
- the **user's role's** workflow: pharmacists verify prescriptions; billing, coding and
  HIM open a patient in the weeks after discharge.

Accesses are matched as openings (:func:`~phiwarden.lake.reader.openings_of`): one
(user, patient, hour) with its access count and first/last time, so a burst of screens is
matched once. Each opening gets the first template (in :data:`TEMPLATES` order) that
explains it, or none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from phiwarden.domain.enums import Role
from phiwarden.monitor.context import Context, no_cache
from phiwarden.monitor.mined import mined_credits

#: Templates in the order an opening is credited to them, with a line for reports.
TEMPLATES: dict[str, str] = {
    "care_team": "on the care team (or attending) of the patient's encounter",
    "department_encounter": "the user's department had an encounter with the patient",
    "ordered": "the user ordered for the patient",
    "resulted": "the user resulted a test for the patient",
    "prescribed": "the user prescribed for the patient",
    "scheduled": "the user booked, or is the provider of, the patient's appointment",
    "registered": "the user registered the patient",
    "call": "the user took a call about the patient",
    "merge": "the user merged the patient's charts",
    "performing_department": "the user's department performs an order for the patient",
    "colleague": "a colleague in the user's department has one of the relationships above",
    "pharmacy": "pharmacist verifying the patient's prescription",
    "technologist": "lab or radiology technologist working an order of that kind",
    "after_discharge": "billing, coding or HIM after the patient's discharge",
    "covering": "a user in the same role opened the patient, explained, at the same time "
    "(covering for them)",
    "facility_encounter": "mined from the log: the user's role opens patients in care at the "
    "user's facility, and this patient was (kept per role by support and lift)",
    "facility_upcoming": "mined from the log: the user's role opens patients days before "
    "their visit at the user's facility, and this patient had one (kept per role)",
    "facility_booking": "mined from the log: the user's role opens patients when a visit at "
    "the user's facility is booked, and one was booked for this patient then (kept per role)",
}
RANK = {name: i for i, name in enumerate(TEMPLATES)}
#: Role workflows: which roles follow which record.
WORKFLOW_OF_ROLE: dict[str, str] = {
    Role.PHARMACIST.value: "pharmacy",
    Role.BILLER.value: "after_discharge",
    Role.CODER.value: "after_discharge",
    Role.HIM_ANALYST.value: "after_discharge",
    # technologists work orders of their kind (order.kind), in any department
    Role.LAB_TECH.value: "lab",
    Role.RADIOLOGY_TECH.value: "radiology",
}


def _hours(h: float) -> ir.IntervalScalar:
    return ibis.interval(minutes=round(h * 60))


def _days(d: float) -> ir.IntervalScalar:
    return ibis.interval(minutes=round(d * 24 * 60))


def _spans(
    table: ir.Table, who: str, patient: str, t0: ir.Value, t1: ir.Value, template: str
) -> ir.Table:
    return table.filter(table[who].notnull()).select(
        who=table[who].cast("string"),
        patient_id=table[patient],
        t0=t0.cast("timestamp"),
        t1=t1.cast("timestamp"),
        rank=ibis.literal(RANK[template], "int16"),
    )


def user_spans(ctx: Context, include_care_team: bool = True) -> ir.Table:
    """(user, patient, from, to, template rank) of every user's own relationships.

    Without the care team: the record relationships only (the department template
    already covers the encounters).
    """
    c = ctx.config
    before, after = _hours(c.encounter_before_hours), _hours(c.encounter_after_hours)
    margin = _hours(c.record_margin_hours)
    enc = ctx["encounters"]
    end = enc.end.fill_null(ibis.literal(ctx.window.end))
    team = ctx["care_team"].join(enc, "encounter_id")
    team_end = team.end.fill_null(ibis.literal(ctx.window.end))
    o, r, p = ctx["orders"], ctx["lab_results"], ctx["prescriptions"]
    a, reg, calls, m = (
        ctx["appointments"],
        ctx["registrations"],
        ctx["calls"],
        ctx["patient_merges"],
    )
    team_parts = [
        _spans(team, "user_id", "patient_id", team.start - before, team_end + after, "care_team"),
        _spans(
            enc, "attending_user_id", "patient_id", enc.start - before, end + after, "care_team"
        ),
    ]
    parts = [
        _spans(
            o,
            "ordered_by_user_id",
            "patient_id",
            o.ordered_at - margin,
            o.ordered_at + _days(c.order_followup_days),
            "ordered",
        ),
        _spans(
            r,
            "resulted_by_user_id",
            "patient_id",
            r.resulted_at - margin,
            r.resulted_at + margin,
            "resulted",
        ),
        _spans(
            p,
            "prescriber_user_id",
            "patient_id",
            p.prescribed_at - margin,
            p.prescribed_at + margin,
            "prescribed",
        ),
        _spans(
            a,
            "scheduled_by_user_id",
            "patient_id",
            a.scheduled_at - margin,
            a.scheduled_at + margin,
            "scheduled",
        ),
        _spans(
            a, "provider_user_id", "patient_id", a.start - margin, a.start + margin, "scheduled"
        ),
        _spans(
            reg,
            "registered_by_user_id",
            "patient_id",
            reg.registered_at - margin,
            reg.registered_at + margin,
            "registered",
        ),
        _spans(
            calls,
            "user_id",
            "patient_id",
            calls.start - _hours(c.call_margin_hours),
            calls.end.fill_null(calls.start) + _hours(c.call_margin_hours),
            "call",
        ),
        _spans(
            m,
            "merged_by_user_id",
            "surviving_patient_id",
            m.merged_at - margin,
            m.merged_at + margin,
            "merge",
        ),
    ]
    return ibis.union(*(team_parts + parts if include_care_team else parts))


def department_spans(ctx: Context) -> ir.Table:
    """(department, patient, from, to, template rank): encounters and performed orders."""
    c = ctx.config
    enc, o = ctx["encounters"], ctx["orders"]
    end = enc.end.fill_null(ibis.literal(ctx.window.end))
    return ibis.union(
        _spans(
            enc,
            "department_id",
            "patient_id",
            enc.start - _hours(c.encounter_before_hours),
            end + _hours(c.encounter_after_hours),
            "department_encounter",
        ),
        _spans(
            o,
            "performing_department_id",
            "patient_id",
            o.ordered_at - _hours(c.record_margin_hours),
            o.ordered_at + _days(c.workflow_days),
            "performing_department",
        ),
    )


def colleague_spans(ctx: Context) -> ir.Table:
    """(department, patient, from, to, template rank) of every user's own relationships,
    keyed by the user's department: a colleague covering for them."""
    own = user_spans(ctx)
    w = ctx["workforce"]
    dept = own.join(w, own.who == w.user_id)
    return _spans(dept, "department_id", "patient_id", dept.t0, dept.t1, "colleague")


def workflow_spans(ctx: Context) -> ir.Table:
    """(workflow, patient, from, to, template rank): pharmacy, orders, after-discharge work."""
    c = ctx.config
    p, enc, o = ctx["prescriptions"], ctx["encounters"], ctx["orders"]
    pharmacy = p.mutate(workflow=ibis.literal("pharmacy"))
    done = enc.filter(enc.end.notnull()).mutate(workflow=ibis.literal("after_discharge"))
    return ibis.union(
        _spans(
            o,
            "kind",
            "patient_id",
            o.ordered_at - _hours(c.record_margin_hours),
            o.ordered_at + _days(c.workflow_days),
            "technologist",
        ),
        _spans(
            pharmacy,
            "workflow",
            "patient_id",
            p.prescribed_at - _hours(c.record_margin_hours),
            p.prescribed_at + _days(c.workflow_days),
            "pharmacy",
        ),
        _spans(
            done,
            "workflow",
            "patient_id",
            done.end,
            done.end + _days(c.after_discharge_days),
            "after_discharge",
        ),
    )


def unexplained(explained: ir.Table) -> ir.Table:
    """Openings no template explains (``rank`` null): what the detectors look at."""
    return explained.filter(explained.rank.isnull())


@dataclass
class Explained:
    """The explanation of a window's openings, in two parts that together hold each once.

    A run uses the parts as they are: the detectors look at ``left`` and the baselines
    count all openings apart, so the openings are never joined back with their ranks (at
    10M accesses that join and the covering pass's over 3.4M openings took 0.9 s).
    """

    #: (oid, accesses, rank) of every explained opening (``oid``: the opening's number)
    credits: ir.Table
    #: the openings (every column of ``Context.openings``) no template explains
    left: ir.Table


def explain(ctx: Context, cache: Callable[[ir.Table], ir.Table] = no_cache) -> ir.Table:
    """The window's openings, each with ``rank``: its first explaining template (or null)."""
    g, credits = ctx.openings, explain_parts(ctx, cache).credits
    joined = g.left_join(credits, g.oid == credits.oid)
    return joined.select(g, credits.rank)


def explain_parts(ctx: Context, cache: Callable[[ir.Table], ir.Table] = no_cache) -> Explained:
    """Every opening's first explaining template, as :class:`Explained`.

    ``cache`` materialises intermediate tables (the run passes the engine's cache): DuckDB
    plans the stages one by one about four times faster than as one query (measured on
    3M accesses: 1.2 s against 4.5 s).
    """
    g = ctx.openings
    w = ctx["workforce"]
    workflow = w.role.cases(*WORKFLOW_OF_ROLE.items(), else_=ibis.null("string"))
    people = w.select(user_id=w.user_id, dept=w.department_id, workflow=workflow)
    gw = cache(
        g.left_join(people, g.user_id == people.user_id).select(
            g, dept=people.dept, workflow=people.workflow
        )
    )
    # Stage one: the user's own and the department's templates. Stage two, only on the
    # openings stage one left: colleagues' relationships and role workflows, whose ranks
    # come after every stage-one rank, so each opening still gets its first template.
    # A department's colleague spans are many (every member's relationships): matched
    # against every opening they gave 23M rows at 10M accesses, against what is left few.
    own = ((user_spans(ctx), gw.user_id), (department_spans(ctx), gw.dept))
    if ctx.con.name == "pyspark":
        # Spark prints every cached stage's plan inside the next one's: the staged plan's
        # text outgrew a 1 GB driver heap. One stage there (same ranks, more rows), each
        # span set's matches cached apart (Spark Connect did not cache them as one plan).
        others = ((colleague_spans(ctx), gw.dept), (workflow_spans(ctx), gw.workflow))
        found = _best(gw, own + others, cache, each=True)
        left = _without(gw, found)
    else:
        first = _best(gw, own, cache)
        rest = cache(_without(gw, first))
        others = ((colleague_spans(ctx), rest.dept), (workflow_spans(ctx), rest.workflow))
        second = _best(rest, others, cache)
        found, left = ibis.union(first, second), _without(rest, second)
    # paths mined from the log, tried only on what the templates left (a small table)
    left = cache(left.select(*g.columns))
    mined = mined_credits(ctx, left.select("user_id", "patient_id", "hour", "first"), RANK, cache)
    extra = _with_covering(ctx, gw, left, cache, mined)
    late = left.join(extra, _same(left, extra)).select(left.oid, left.accesses, extra.rank)
    # one rank type on both sides (Spark gives the cached minimum of an int16 as int32)
    found, late = (t.mutate(rank=t.rank.cast("int16")) for t in (found, late))
    return Explained(ibis.union(found, late), cache(_without(left, extra, _same)))


def _same(a: ir.Table, b: ir.Table) -> list[ir.BooleanValue]:
    return [a.user_id == b.user_id, a.patient_id == b.patient_id, a.hour == b.hour]


def _numbered(a: ir.Table, b: ir.Table) -> list[ir.BooleanValue]:
    return [a.oid == b.oid]


def _without(
    openings: ir.Table,
    ranked: ir.Table,
    on: Callable[[ir.Table, ir.Table], list[ir.BooleanValue]] = _numbered,
) -> ir.Table:
    """The openings ``ranked`` has no row for (by opening number, or ``on``)."""
    return openings.anti_join(ranked, on(openings, ranked))


def _best(
    gw: ir.Table,
    pairs: tuple[tuple[ir.Table, ir.Value], ...],
    cache: Callable[[ir.Table], ir.Table],
    each: bool = False,
) -> ir.Table:
    """(oid, accesses, rank): the lowest rank of the spans (joined on their key column, the
    patient and the opening's time) that explain each opening of ``gw``; ``each`` caches
    every span set's matches before they are combined.

    Matches are grouped by the opening's number: at 10M accesses, 8.6M matches group in
    0.25-0.35 s by it against 0.65-0.7 s by (user, patient, hour)."""
    matches = []
    for spans, key in pairs:
        joined = gw.join(
            spans,
            [
                key == spans.who,
                gw.patient_id == spans.patient_id,
                gw.first >= spans.t0,
                gw.first <= spans.t1,
            ],
        )
        match = joined.select(gw.oid, gw.accesses, spans.rank)
        matches.append(cache(match) if each else match)
    return cache(
        ibis.union(*matches)
        .group_by("oid")
        .aggregate(accesses=lambda t: t.accesses.max(), rank=lambda t: t.rank.min())
    )


def _with_covering(
    ctx: Context,
    gw: ir.Table,
    left: ir.Table,
    cache: Callable[[ir.Table], ir.Table],
    mined: ir.Table | None = None,
) -> ir.Table:
    """(user_id, patient_id, hour, rank) of the openings ``left`` unexplained that a second
    pass credits: made beside a same-role user's explained opening (covering), or on a path
    ``mined`` credits (user_id, patient_id, hour, rank); the lower rank when both do.

    A physician covering a colleague opens the chart with them, often from another
    department; within ``cover_minutes`` of an explained opening of the same patient by
    another user of the same role, the opening is explained as covering.
    """
    margin = _hours(ctx.config.cover_minutes / 60)
    w = ctx["workforce"]
    roles = w.select(ru=w.user_id, role=w.role)
    mine = cache(
        left.join(roles, left.user_id == roles.ru).select(
            lu=left.user_id, lp=left.patient_id, lh=left.hour, lf=left.first, lr=roles.role
        )
    )
    # the explained openings of the same patients: every opening of theirs not left
    done = _without(gw.semi_join(mine, gw.patient_id == mine.lp), left)
    done = done.join(roles, done.user_id == roles.ru).select(
        du=done.user_id, dp=done.patient_id, df=done.first, dr=roles.role
    )
    near = cache(
        mine.join(
            done,
            [
                mine.lp == done.dp,
                mine.lr == done.dr,
                mine.lu != done.du,
                done.df >= mine.lf - margin,
                done.df <= mine.lf + margin,
            ],
        )
        .select(user_id=mine.lu, patient_id=mine.lp, hour=mine.lh)
        .distinct()
    )
    extra = near.mutate(rank=ibis.literal(RANK["covering"], "int16"))
    if mined is not None:
        extra = ibis.union(extra, mined.select("user_id", "patient_id", "hour", "rank"))
    return extra.group_by(["user_id", "patient_id", "hour"]).aggregate(rank=lambda t: t.rank.min())


def explanation_stats(parts: Explained) -> dict[str, object]:
    """Accesses, explained fraction, and accesses credited to each template.

    ``parts`` is :func:`explain_parts`'s, preferably cached: each part is read once here.
    """
    c = parts.credits
    counts = c.group_by("rank").aggregate(accesses=c.accesses.sum()).to_pyarrow()
    unexplained = int(parts.left.accesses.sum().fill_null(0).to_pyarrow().as_py())
    names = list(TEMPLATES)
    by_template = {name: 0 for name in names}
    total = unexplained
    for rank, n in zip(counts["rank"].to_pylist(), counts["accesses"].to_pylist(), strict=True):
        total += int(n)
        by_template[names[int(rank)]] += int(n)
    return {
        "accesses": total,
        "explained": total - unexplained,
        "unexplained": unexplained,
        # no accesses explain nothing: None, never a reassuring 100%
        "explained_fraction": (total - unexplained) / total if total else None,
        "by_template": by_template,
    }
