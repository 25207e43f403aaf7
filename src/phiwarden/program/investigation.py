"""Privacy investigations: opened from a workforce member's alerts or from a complaint,
with the evidence frozen; the finding, the determination and sanction, the breach
decision (a breach opens an incident carrying everyone the member touched), referrals,
and the member's history for later alerts.

The steps are transitions of the ``investigation`` procedure (``cases/procedures``); the
functions here check what the procedure cannot (one open investigation per member, the
breach rule's presumption) and do what crosses areas (opening the incident).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, insert, select

from phiwarden.breach import decision as breach_rule
from phiwarden.breach.incident import Incident, open_incident
from phiwarden.breach.lists import add_population
from phiwarden.cases import actions, transition
from phiwarden.cases.effects import Ctx, Refused
from phiwarden.cases.engine import change, open_case
from phiwarden.program import evidence
from phiwarden.store.case_tables import case_files, case_links, case_subjects
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.program_tables import sanctions
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

PROCEDURE = "investigation"
#: the referral facts of the procedure, by who received the referral
REFERRALS = {"law_enforcement": "referred_law_enforcement", "ocr": "reported_ocr"}


def open_investigation_of(conn: Connection, user_id: str) -> str | None:
    """The member's open investigation, if there is one."""
    return conn.execute(
        select(case_files.c.case_id)
        .join(case_subjects, case_subjects.c.case_id == case_files.c.case_id)
        .where(
            case_files.c.case_type == PROCEDURE,
            case_files.c.closed_at.is_(None),
            case_subjects.c.kind == "workforce",
            case_subjects.c.ref == user_id,
        )
        .order_by(case_files.c.opened_at)
    ).scalar()


def _alert_rows(conn: Connection, alert_ids: Sequence[str]) -> list[Any]:
    rows = conn.execute(
        select(
            alerts.c.alert_id, alerts.c.user_id, alerts.c.window_start, alerts.c.window_end
        ).where(alerts.c.alert_id.in_(list(alert_ids)))
    ).all()
    missing = sorted(set(alert_ids) - {r.alert_id for r in rows})
    if missing:
        raise LookupError(f"no alert {', '.join(missing)}")
    return list(rows)


def open_investigation(
    stores: Stores,
    *,
    actor: str,
    alert_ids: Sequence[str] = (),
    user_id: str | None = None,
    complaint: str | None = None,
    since: date | None = None,
    until: date | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Open an investigation (or add the alerts to the member's open one); (case, new).

    From alerts, the member and window are theirs; from a complaint, give the member, the
    window and what the complainant said. The evidence snapshot is taken of the window.
    """
    at = (now or datetime.now()).replace(microsecond=0)
    alert_ids = list(dict.fromkeys(alert_ids))
    if not alert_ids and not (complaint and complaint.strip()):
        raise ValueError("open an investigation from one or more alerts, or from a complaint")
    with stores.engine.connect() as conn:
        rows = _alert_rows(conn, alert_ids) if alert_ids else []
        users = {r.user_id for r in rows} | ({user_id} if user_id else set())
        if len(users) != 1:
            raise ValueError(
                "an investigation is of one workforce member: "
                + ("give the member (--user)" if not users else f"these name {sorted(users)}")
            )
        (member,) = users
        w = domain_table("workforce")
        known = conn.execute(select(w.c.user_id).where(w.c.user_id == member)).scalar()
        if known is None:
            raise ValueError(f"no workforce member {member!r}: give a user_id from the workforce")
        existing = open_investigation_of(conn, member)
    first = since or min((r.window_start for r in rows), default=None)
    last = until or max((r.window_end for r in rows), default=None)
    if first is None or last is None:
        raise ValueError("give the window the complaint is about (--since and --until)")
    if first > last:
        raise ValueError(f"the window starts {first} after it ends {last}: swap them")
    if existing is not None:
        _add_alerts(stores, existing, alert_ids, actor, at)
        return existing, False
    content = evidence.take(stores, member, first, last, alert_ids, at)

    def freeze(ctx: Ctx) -> None:
        evidence.store(ctx, content)
        for alert_id in alert_ids:
            _mark_investigated(ctx, alert_id)

    source = "alerts" if alert_ids else "complaint"
    title = f"Privacy investigation of {member}" + (
        f" ({len(alert_ids)} alert(s))" if alert_ids else " (complaint)"
    )
    case_id = open_case(
        stores,
        PROCEDURE,
        actor=actor,
        title=title,
        subjects=[("workforce", member, "user")],
        links=[("alert", a) for a in alert_ids],
        details={
            "user_id": member,
            "since": first.isoformat(),
            "until": last.isoformat(),
            "source": source,
            "complaint": (complaint or "").strip(),
        },
        assignee=assignee,
        now=at,
        on_open=freeze,
    )
    return case_id, True


def _mark_investigated(ctx: Ctx, alert_id: str) -> None:
    from phiwarden.monitor import store as monitor_store

    status = ctx.conn.execute(select(alerts.c.status).where(alerts.c.alert_id == alert_id)).scalar()
    if status == monitor_store.UNDECIDED:
        monitor_store.decide(
            ctx.conn,
            alert_id,
            "needs_investigation",
            note=f"Investigation {ctx.case_id} opened",
            decided_by=ctx.actor,
            now=ctx.now,
        )


def _add_alerts(
    stores: Stores, case_id: str, alert_ids: list[str], actor: str, at: datetime
) -> None:
    def work(ctx: Ctx) -> None:
        have = set(ctx.links("alert"))
        new = [a for a in alert_ids if a not in have]
        for alert_id in new:
            ctx.conn.execute(insert(case_links).values(case_id=case_id, kind="alert", ref=alert_id))
            _mark_investigated(ctx, alert_id)
        if new:
            ctx.event("alerts", f"Alert(s) added: {', '.join(new)}", detail={"alerts": new})

    if alert_ids:
        change(stores, case_id, None, actor, work, now=at)


def submit(
    stores: Stores,
    case_id: str,
    finding: str,
    *,
    actor: str,
    role: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The investigator submits the proposed finding for the Privacy Officer."""
    return transition.fire(
        stores,
        case_id,
        "submit",
        actor=actor,
        role=role,
        revision=revision,
        inputs={"finding": finding.strip()},
        now=now,
    )


def determine(
    stores: Stores,
    case_id: str,
    outcome: Literal["violation", "no_violation"],
    reason: str,
    *,
    actor: str,
    role: str,
    revision: int | None,
    level: int | None = None,
    suppress: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Privacy Officer's determination: a violation at a level of the sanction policy
    (the sanction and its HR task follow), or no violation (optionally suppressing the
    alerts' accesses from monitoring, with this case as the reason)."""
    if outcome == "violation":
        if level is None:
            raise Refused("give the sanction level of the violation")
        return transition.fire(
            stores,
            case_id,
            "find_violation",
            actor=actor,
            role=role,
            revision=revision,
            reason=reason,
            inputs={"level": level},
            now=now,
        )
    return transition.fire(
        stores,
        case_id,
        "find_no_violation",
        actor=actor,
        role=role,
        revision=revision,
        reason=reason,
        inputs={"suppress": "yes" if suppress else ""},
        now=now,
    )


def decide_breach(
    stores: Stores,
    case_id: str,
    decision: breach_rule.Decision,
    *,
    actor: str,
    role: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record the four-factor breach decision on the investigation. "breach" opens an
    incident with every patient the member opened in the window, and the two are linked
    both ways; the incident carries the same decision, so its obligations follow."""
    breach_rule.check(decision.outcome, decision.exclusion, decision.assessment, "the case")
    at = (now or datetime.now()).replace(microsecond=0)
    record = {**decision.model_dump(), "decided_by": actor, "decided_at": at.isoformat()}
    after = transition.fire(
        stores,
        case_id,
        "decide_breach",
        actor=actor,
        role=role,
        revision=revision,
        inputs={"breach_decision": record},
        now=at,
    )
    incident = None
    if decision.outcome == "breach":
        incident = open_breach_incident(stores, case_id, decision, actor=actor, now=at)
    return {**after, "incident": incident}


def open_breach_incident(
    stores: Stores,
    case_id: str,
    decision: breach_rule.Decision,
    *,
    actor: str,
    now: datetime | None = None,
) -> str:
    """The incident of a breach found in an investigation, with its population (again
    after a failure: an investigation already linked to an incident returns it)."""
    at = (now or datetime.now()).replace(microsecond=0)
    with stores.engine.connect() as conn:
        details, opened = conn.execute(
            select(case_files.c.details, case_files.c.opened_at).where(
                case_files.c.case_id == case_id
            )
        ).one()
        linked = conn.execute(
            select(case_links.c.ref).where(
                and_(case_links.c.case_id == case_id, case_links.c.kind == "incident")
            )
        ).scalar()
    if linked:
        return str(linked)
    user, since, until = (
        details["user_id"],
        date.fromisoformat(details["since"]),
        date.fromisoformat(details["until"]),
    )
    incident = open_incident(
        stores,
        Incident(
            title=f"Impermissible access by workforce member {user}",
            discovered=opened.date(),
            type="unauthorized_access",
            location="emr",
            occurred_from=since,
            occurred_to=until,
            description=f"Found in privacy investigation {case_id}: {decision.reason}",
            actions=f"Investigation {case_id}; sanction under the sanction policy.",
        ),
        actor=actor,
        now=at,
    )
    _link(stores, incident, "investigation", case_id, actor, at)
    _link(stores, case_id, "incident", incident, actor, at)
    add_population(stores, incident, user, since, until, actor=actor, now=at)
    breach_rule.decide(stores, incident, decision, actor=actor, role="privacy_officer", now=at)
    return incident


def _link(stores: Stores, case_id: str, kind: str, ref: str, actor: str, at: datetime) -> None:
    def work(ctx: Ctx) -> None:
        ctx.conn.execute(insert(case_links).values(case_id=case_id, kind=kind, ref=ref))
        ctx.event("linked", f"Linked {kind.replace('_', ' ')} {ref}")

    change(stores, case_id, None, actor, work, now=at)


def refer(
    stores: Stores,
    case_id: str,
    to: Literal["law_enforcement", "ocr"],
    on: date,
    detail: str,
    *,
    actor: str,
    role: str,
    revision: int | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record a referral to law enforcement or the report to OCR, with its date."""
    if on > (now or datetime.now()).date():
        raise Refused(f"the referral date {on} is in the future")
    value = f"{on.isoformat()}: {detail.strip() or to.replace('_', ' ')}"
    return actions.record_fact(
        stores, case_id, REFERRALS[to], value, actor=actor, role=role, revision=revision, now=now
    )


def history(conn: Connection, user_id: str) -> list[dict[str, Any]]:
    """The member's investigations, oldest first, each with its determination and
    sanctions: what a later alert on the same member shows."""
    rows = conn.execute(
        select(
            case_files.c.case_id,
            case_files.c.state,
            case_files.c.opened_at,
            case_files.c.closed_at,
            case_files.c.details,
        )
        .join(case_subjects, case_subjects.c.case_id == case_files.c.case_id)
        .where(
            case_files.c.case_type == PROCEDURE,
            case_subjects.c.kind == "workforce",
            case_subjects.c.ref == user_id,
        )
        .order_by(case_files.c.opened_at, case_files.c.case_id)
    ).mappings()
    out = []
    for r in rows:
        given = conn.execute(
            select(sanctions.c.level, sanctions.c.title, sanctions.c.actions).where(
                sanctions.c.case_id == r["case_id"]
            )
        ).mappings()
        determination = (r["details"] or {}).get("determination") or {}
        out.append(
            {
                "case_id": r["case_id"],
                "state": r["state"],
                "opened_at": r["opened_at"],
                "closed_at": r["closed_at"],
                "outcome": determination.get("outcome"),
                "sanctions": [dict(s) for s in given],
            }
        )
    return out


def sanctions_desk(conn: Connection) -> dict[str, Any]:
    """What HR works from: the sanctions decided (newest first) and HR's open tasks. No
    patient data: the member, the level, the sanctions and the case number."""
    from phiwarden.cases.casefile import open_tasks

    rows = conn.execute(select(sanctions).order_by(sanctions.c.decided_at.desc())).mappings()
    return {"sanctions": [dict(r) for r in rows], "hr_tasks": open_tasks(conn, "Human Resources")}
