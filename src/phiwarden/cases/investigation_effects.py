"""The built-in steps of the privacy-investigation procedure: the investigator's finding,
the sanction at a level of the sanction policy (with the alerts it settles), suppression
of accesses found appropriate, the breach decision, and the SLA timers running out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from phiwarden.cases.effects import Ctx, Refused, effect, notify_role
from phiwarden.cases.sanctions import load_policy
from phiwarden.monitor import store as monitor_store
from phiwarden.store.monitor_tables import alerts, suppressions
from phiwarden.store.program_tables import sanctions


def _user(ctx: Ctx) -> str:
    users = ctx.subjects("user")
    if not users:
        raise Refused(f"case {ctx.case_id} names no workforce member")
    return users[0]


@effect("record_finding")
def record_finding(ctx: Ctx) -> None:
    """Keep the investigator's proposed finding on the case."""
    finding = str(ctx.inputs["finding"]).strip()
    ctx.case["details"] = {**ctx.case["details"], "finding": finding}
    ctx.event("finding", f"Finding submitted: {finding}")


def _decide_alerts(ctx: Ctx, decision: str, note: str) -> list[str]:
    """Record ``decision`` on every alert linked to the case; the alert ids."""
    ids = ctx.links("alert")
    for alert_id in ids:
        exists = ctx.conn.execute(select(alerts.c.alert_id).where(alerts.c.alert_id == alert_id))
        if exists.first() is not None:
            monitor_store.decide(
                ctx.conn, alert_id, decision, note=note, decided_by=ctx.actor, now=ctx.now
            )
    return ids


@effect("record_sanction")
def record_sanction(ctx: Ctx) -> None:
    """The Privacy Officer's determination of a violation: the level, the sanctions the
    policy gives for it, and the linked alerts marked violations."""
    try:
        number = int(ctx.inputs["level"])
    except (TypeError, ValueError) as exc:
        raise Refused("give the sanction level as a number") from exc
    policy = load_policy(ctx.stores.settings.hospital_config)
    try:
        level = policy.level(number)
    except ValueError as exc:
        raise Refused(str(exc)) from exc
    user = _user(ctx)
    ctx.conn.execute(
        insert(sanctions).values(
            case_id=ctx.case_id,
            user_id=user,
            level=level.level,
            title=level.title,
            actions=list(level.actions),
            policy_version=policy.version,
            policy_sha256=policy.digest,
            decided_at=ctx.now,
            decided_by=ctx.actor,
        )
    )
    determination: dict[str, Any] = {
        "outcome": "violation",
        "level": level.level,
        "title": level.title,
        "actions": list(level.actions),
        "policy": f"{policy.title} version {policy.version}",
        "by": ctx.actor,
        "at": ctx.now.isoformat(),
        "reason": ctx.reason,
    }
    ctx.case["details"] = {**ctx.case["details"], "determination": determination}
    ctx.event(
        "determination",
        f"Violation, level {level.level} ({level.title}): {'; '.join(level.actions)}",
        cites=policy.cites,
        reason=ctx.reason,
        detail=determination,
    )
    _decide_alerts(ctx, "violation", f"Violation found in investigation {ctx.case_id}")
    notify_role(ctx, "Human Resources", f"Sanction to apply (level {level.level})")


@effect("suppress_explained")
def suppress_explained(ctx: Ctx) -> None:
    """No violation: record it and, when asked (input ``suppress``), mark the linked alerts
    appropriate so monitoring does not raise these accesses again, with this case as the
    suppressions' justification."""
    suppress = str(ctx.inputs.get("suppress", "")).lower() in {"1", "true", "yes", "on"}
    determination = {
        "outcome": "no_violation",
        "by": ctx.actor,
        "at": ctx.now.isoformat(),
        "reason": ctx.reason,
        "suppressed": suppress,
    }
    ctx.case["details"] = {**ctx.case["details"], "determination": determination}
    ctx.event("determination", "No violation", reason=ctx.reason, detail=determination)
    if not suppress:
        return
    ids = _decide_alerts(ctx, "appropriate", f"No violation: investigation {ctx.case_id}")
    if ids:
        ctx.conn.execute(
            update(suppressions).where(suppressions.c.alert_id.in_(ids)).values(case_id=ctx.case_id)
        )
    ctx.event("suppressed", f"Accesses of {len(ids)} alert(s) suppressed from monitoring")


@effect("record_breach_decision")
def record_breach_decision(ctx: Ctx) -> None:
    """Keep the four-factor breach decision (checked by the caller) on the case."""
    decision = dict(ctx.inputs["breach_decision"])
    ctx.case["details"] = {**ctx.case["details"], "breach_decision": decision}
    ctx.event(
        "decision",
        f"Breach decision: {decision.get('outcome')} - {decision.get('reason', '')}",
        cites="45 CFR 164.402",
        detail=decision,
    )


@effect("sla_passed")
def sla_passed(ctx: Ctx) -> None:
    """A due date of the investigation passed: mark the case overdue, tell the Privacy
    Officer."""
    state = ctx.procedure.state(ctx.case["state"])
    overdue = [
        *ctx.case["details"].get("overdue", []),
        {"state": state.name, "at": ctx.now.isoformat()},
    ]
    ctx.case["details"] = {**ctx.case["details"], "overdue": overdue}
    ctx.event("overdue", f"Overdue: {state.title} passed its due date")
    notify_role(ctx, "Privacy Officer", f"Overdue: {state.title}")
