"""What the privacy officer records about the obligations, on the incident and in its
timeline, so the record proves what was done and why dates moved (164.414(b)): that an
obligation was met (with its proof), and a law-enforcement delay (164.412)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from phiwarden.breach.obligations import KINDS


def mark_done(
    stores: Any, incident_id: str, key: str, *, actor: str, note: str, now: datetime | None = None
) -> dict[str, Any]:
    """Record that an obligation was met (with what proves it): kept on the incident as
    the burden-of-proof record (164.414(b)) and written to its timeline."""
    from phiwarden.cases.effects import Refused
    from phiwarden.cases.engine import change

    kind = key.split(":", 1)[0]
    if kind not in KINDS or ":" not in key:
        raise Refused(f"unknown obligation {key!r}: use KIND:JURISDICTION, e.g. hhs:US")
    if not note.strip():
        raise Refused("say what proves it was done (date sent, confirmation number)")
    at = (now or datetime.now()).replace(microsecond=0)
    mark = {"by": actor, "at": at.isoformat(), "note": note.strip()}

    def work(ctx: Any) -> None:
        details = dict(ctx.case["details"])
        done = dict(details.get("obligations_done") or {})
        done[key] = mark
        ctx.case["details"] = {**details, "obligations_done": done}
        ctx.event("obligation", f"Done: {key} - {note.strip()}", cites="45 CFR 164.414(b)")

    change(stores, incident_id, None, actor, work, now=at)
    return mark


def record_delay(
    stores: Any,
    incident_id: str,
    *,
    actor: str,
    agency: str,
    written_until: date | None = None,
    oral_days: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record a law-enforcement delay (164.412): a written statement delays the notices
    for the period it gives; an oral one at most 30 days, and must be documented (who,
    which agency)."""
    from phiwarden.cases.effects import Refused
    from phiwarden.cases.engine import change

    if not agency.strip():
        raise Refused("name the agency and the official who asked for the delay (164.412)")
    if oral_days is not None and oral_days < 1:
        raise Refused("an oral delay is at least one day")
    delay: dict[str, Any] = (
        {"kind": "written", "until": written_until.isoformat()}
        if written_until is not None
        else {"kind": "oral", "days": oral_days}
    )
    delay |= {"agency": agency.strip(), "by": actor}

    def work(ctx: Any) -> None:
        ctx.case["details"] = {**ctx.case["details"], "law_enforcement_delay": delay}
        what = (
            f"until {delay['until']} (written statement)"
            if delay["kind"] == "written"
            else f"{delay['days']} day(s) on an oral request (at most 30 count)"
        )
        ctx.event(
            "delay",
            f"Law-enforcement delay of the notices {what}: {agency.strip()}",
            cites="45 CFR 164.412",
        )

    change(stores, incident_id, None, actor, work, now=now)
    return delay
