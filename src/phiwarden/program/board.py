"""The annual report to the board (Red Flags program section VI; 16 CFR 681 Appendix A,
VI.B: the report addresses the program's effectiveness, significant incidents and
management's response, service-provider arrangements, and recommended changes).

Everything here is computed from the store for one calendar year, except what only the
Privacy Officer can write (how effective the program was in their judgement, management's
response to significant incidents, recommended changes): those come from
``CONFIG/board-report-YYYY.toml`` and the report says where to write them when absent.
"""

from __future__ import annotations

import statistics
import tomllib
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from phiwarden.breach.incident import list_incidents
from phiwarden.breach.scope import scope
from phiwarden.program.dashboard import time_to_close
from phiwarden.program.providers import list_providers
from phiwarden.program.reviews import log, pending
from phiwarden.program.settings import load_program
from phiwarden.program.training import roster
from phiwarden.redflags.catalogue import BY_CODE as FLAGS
from phiwarden.store.breach_tables import breach_letters
from phiwarden.store.case_tables import case_files, case_links
from phiwarden.store.monitor_tables import alert_decisions, alerts
from phiwarden.store.program_tables import corrective_actions, sanctions
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores

#: what the Privacy Officer writes, by key of CONFIG/board-report-YYYY.toml
WRITTEN = {
    "effectiveness": "How effective the program was",
    "significant_response": "Management's response to significant incidents",
    "recommended_changes": "Recommended changes to the program",
}
TYPE_TITLES = {
    "identity_theft": "Identity theft",
    "investigation": "Privacy investigation",
    "breach_incident": "Breach incident",
}
#: an incident is significant when it is a breach, or affects this many people or more
SIGNIFICANT_PEOPLE = 500


def officer_text(config_dir: Path | None, year: int) -> dict[str, Any]:
    """The Privacy Officer's sections for the year, and the file they come from."""
    path = (config_dir or Path(".")) / f"board-report-{year}.toml"
    text: dict[str, str] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        unknown = sorted(set(data) - set(WRITTEN) - {"prepared_by"})
        if unknown:
            raise ValueError(
                f"{path}: unknown key(s) {', '.join(unknown)}; use {', '.join(WRITTEN)}"
            )
        text = {k: str(v).strip() for k, v in data.items()}
    return {"path": str(path), "exists": path.is_file(), **text}


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


def _flags(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    rows = conn.execute(
        select(red_flags.c.flag_id, red_flags.c.code, red_flags.c.status).where(
            _in(red_flags.c.detected_at, start, end)
        )
    ).all()
    to_case = set(
        conn.execute(select(case_links.c.ref).where(case_links.c.kind == "red_flag")).scalars()
    )
    by: dict[str, Counter[str]] = {}
    for flag_id, code, status in rows:
        c = by.setdefault(code, Counter())
        c[status] += 1
        c["cases"] += flag_id in to_case
    types: list[dict[str, Any]] = [
        {
            "code": code,
            "title": FLAGS[code].title if code in FLAGS else code,
            "found": sum(v for k, v in c.items() if k != "cases"),
            "open": c["open"],
            "resolved": c["resolved"],
            "dismissed": c["dismissed"],
            "cases": c["cases"],
        }
        for code, c in by.items()
    ]
    types.sort(key=lambda t: (-t["found"], t["code"]))
    return {"types": types, "total": len(rows), "to_cases": sum(t["cases"] for t in types)}


def _alerts(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    made: dict[str, int] = dict(
        conn.execute(
            select(alerts.c.status, func.count())
            .where(_in(alerts.c.created_at, start, end))
            .group_by(alerts.c.status)
        )
        .tuples()
        .all()
    )
    first = conn.execute(
        select(alerts.c.created_at, func.min(alert_decisions.c.decided_at))
        .join(alert_decisions, alert_decisions.c.alert_id == alerts.c.alert_id)
        .where(_in(alerts.c.created_at, start, end))
        .group_by(alerts.c.alert_id, alerts.c.created_at)
    ).all()
    days = [(d - c).total_seconds() / 86400 for c, d in first]
    total = sum(made.values())
    return {
        "raised": total,
        "by_status": made,
        "decided": total - made.get("new", 0),
        "median_days_to_decide": round(statistics.median(days), 1) if days else None,
    }


def _cases(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    opened = Counter(
        conn.execute(
            select(case_files.c.case_type).where(_in(case_files.c.opened_at, start, end))
        ).scalars()
    )
    closed = Counter(
        conn.execute(
            select(case_files.c.case_type).where(_in(case_files.c.closed_at, start, end))
        ).scalars()
    )
    still_open = Counter(
        conn.execute(
            select(case_files.c.case_type).where(
                case_files.c.opened_at < end,
                (case_files.c.closed_at.is_(None)) | (case_files.c.closed_at >= end),
            )
        ).scalars()
    )
    months = [0] * 12
    months_closed = [0] * 12
    for (at,) in conn.execute(
        select(case_files.c.opened_at).where(_in(case_files.c.opened_at, start, end))
    ):
        months[at.month - 1] += 1
    for (at,) in conn.execute(
        select(case_files.c.closed_at).where(_in(case_files.c.closed_at, start, end))
    ):
        months_closed[at.month - 1] += 1
    kinds = sorted(set(opened) | set(closed) | set(still_open))
    closing = time_to_close(conn, start, end)
    return {
        "by_type": [
            {
                "type": k,
                "title": TYPE_TITLES.get(k, k.replace("_", " ")),
                "opened": opened[k],
                "closed": closed[k],
                "open_at_end": still_open[k],
                "median_days": closing["by_type"].get(k, {}).get("median_days"),
            }
            for k in kinds
        ],
        "opened": sum(opened.values()),
        "closed": sum(closed.values()),
        "median_days": closing["median_days"],
        "per_month": {"opened": months, "closed": months_closed},
    }


def _investigations(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    given = conn.execute(
        select(sanctions.c.level, sanctions.c.title, func.count())
        .where(_in(sanctions.c.decided_at, start, end))
        .group_by(sanctions.c.level, sanctions.c.title)
        .order_by(sanctions.c.level)
    ).all()
    details = (
        conn.execute(
            select(case_files.c.details).where(
                case_files.c.case_type == "investigation", _in(case_files.c.opened_at, start, end)
            )
        )
        .scalars()
        .all()
    )
    outcomes = Counter(
        ((d or {}).get("determination") or {}).get("outcome", "pending") for d in details
    )
    referrals = Counter(
        name for d in details for name in ((d or {}).get("facts") or {}) if name != "interview"
    )
    return {
        "opened": len(details),
        "violation": outcomes["violation"],
        "no_violation": outcomes["no_violation"],
        "pending": outcomes["pending"],
        "sanctions": [{"level": lv, "title": t, "count": n} for lv, t, n in given],
        "referred_law_enforcement": referrals["referred_law_enforcement"],
        "reported_ocr": referrals["reported_ocr"],
    }


def _incidents(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    out = []
    for incident in list_incidents(conn, limit=100_000):
        if not start <= incident["case"]["opened_at"] < end:
            continue
        incident_id = incident["incident"]
        details = incident["case"]["details"]
        people = len(scope(conn, incident_id)["people"])
        letters: dict[str, int] = dict(
            conn.execute(
                select(breach_letters.c.status, func.count())
                .where(breach_letters.c.incident_id == incident_id)
                .group_by(breach_letters.c.status)
            )
            .tuples()
            .all()
        )
        related = [incident_id] + [
            x["ref"] for x in incident["case"]["links"] if x["kind"] == "investigation"
        ]
        actions = conn.execute(
            select(corrective_actions.c.title, corrective_actions.c.status).where(
                corrective_actions.c.case_id.in_(related)
            )
        ).all()
        decision = (details.get("decision") or {}).get("outcome")
        out.append(
            {
                "incident": incident_id,
                "title": incident["title"],
                "type": incident["type_label"],
                "discovered": incident["discovered"],
                "status": incident["status"],
                "people": people,
                "decision": decision or "pending",
                "letters": sum(letters.values()),
                "returned": letters.get("returned", 0),
                "obligations_done": len(details.get("obligations_done") or {}),
                "actions": incident.get("actions") or "",
                "corrective": [{"title": t, "status": s} for t, s in actions],
                "significant": decision == "breach" or people >= SIGNIFICANT_PEOPLE,
            }
        )
    return sorted(out, key=lambda i: (i["discovered"], i["incident"]))


def report(stores: Stores, year: int, today: date | None = None) -> dict[str, Any]:
    """Every figure of the year's board report, and the Privacy Officer's text."""
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    on = min(today or date.today(), date(year, 12, 31))
    settings = load_program(stores.settings.hospital_config)
    with stores.engine.connect() as conn:
        flags = _flags(conn, start, end)
        alert_figures = _alerts(conn, start, end)
        cases = _cases(conn, start, end)
        investigations = _investigations(conn, start, end)
        incidents = _incidents(conn, start, end)
        approvals = [e for e in log(conn) if e["approved_on"].year == year]
        actions = (
            conn.execute(
                select(corrective_actions.c.status, func.count())
                .where(_in(corrective_actions.c.created_at, start, end))
                .group_by(corrective_actions.c.status)
            )
            .tuples()
            .all()
        )
    training = roster(stores, settings, on)
    providers = list_providers(stores, on)
    resolved = sum(t["resolved"] + t["dismissed"] for t in flags["types"])
    return {
        "year": year,
        "as_of": on,
        "generated_at": datetime.now().replace(microsecond=0),
        "hospital": _hospital_name(stores),
        "flags": flags,
        "alerts": alert_figures,
        "cases": cases,
        "investigations": investigations,
        "incidents": incidents,
        "notified": sum(i["letters"] for i in incidents),
        "training": training,
        "providers": providers,
        "approvals": approvals,
        "pending_changes": pending(stores),
        "corrective": dict(actions),
        "effectiveness": {
            "flags_resolved_pct": round(100 * resolved / flags["total"], 1)
            if flags["total"]
            else None,
            "alerts_decided_pct": round(100 * alert_figures["decided"] / alert_figures["raised"], 1)
            if alert_figures["raised"]
            else None,
            "training_current_pct": round(100 * training["current"] / training["members"], 1)
            if training["members"]
            else None,
            "median_days_to_close": cases["median_days"],
        },
        "officer": officer_text(stores.settings.hospital_config, year),
    }


def _hospital_name(stores: Stores) -> str:
    from phiwarden.breach.hhs import hospital

    try:
        return str(hospital(stores.settings.hospital_config)["covered_entity"]["name"])
    except (KeyError, ValueError, TypeError):
        return "the hospital"
