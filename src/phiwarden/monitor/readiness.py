"""The readiness report: what the loaded data lets each analysis do, and what it lacks.

A hospital's export seldom carries everything (shift hours, employee links, care teams,
restricted-record labels). Nothing missing stops an ingest; instead this report, shown
after every ingest, by ``phiwarden status`` and on the dashboard, gives the shares that
matter and says, per detector, what it can do with what was loaded ("no shift hours:
after-hours uses the facility's office hours"). It is a pure function of the stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, Engine, func, select

from phiwarden.lake.layout import list_files
from phiwarden.store.arrow_read import read_arrow_many
from phiwarden.store.schema import DOMAIN_TABLES, readiness_reports
from phiwarden.store.setup import Stores

#: Below this share a capability is "partial" (above it "ok").
PARTIAL = 0.5


@dataclass
class Check:
    """One line of the report: what it is about, its state and what it means."""

    topic: str
    state: str  # ok | partial | missing
    detail: str

    def as_json(self) -> dict[str, str]:
        """The JSON form."""
        return {"topic": self.topic, "state": self.state, "detail": self.detail}


@dataclass
class Readiness:
    """Shares of loaded data that the analyses need, and the checks drawn from them."""

    shares: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The JSON form (``phiwarden status --json``, the API, the stored report)."""
        return {
            "counts": self.counts,
            "shares": self.shares,
            "checks": [c.as_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Readiness:
        """The report as :meth:`as_json` wrote it."""
        checks = [Check(c["topic"], c["state"], c["detail"]) for c in data.get("checks", [])]
        return cls(dict(data.get("shares", {})), dict(data.get("counts", {})), checks)


Count = Callable[[Any], Any]


def _rows(_c: Any) -> Any:
    return func.count()


def _filled(column: str) -> Count:
    return lambda c: func.count(c[column])


#: What is counted, per table (one query each): name -> the SQL count over its columns.
COUNTED: dict[str, dict[str, Count]] = {
    "workforce": {
        "workforce": _rows,
        "workforce_role": lambda c: func.count().filter(c.role != "other"),
        "workforce_department": _filled("department_id"),
        "workforce_shift": _filled("shift_start_hour"),
        "workforce_address": _filled("address_line"),
        "workforce_ended": _filled("termination_date"),
    },
    "patients": {
        "patients": _rows,
        "patients_address": _filled("address_line"),
        "patients_phone": _filled("phone"),
        "patients_vip": lambda c: func.count().filter(c.vip.is_(True)),
        "patients_employee": _filled("employee_user_id"),
    },
    "patient_contacts": {"patient_contacts": _rows},
    "encounters": {"encounters": _rows, "encounters_department": _filled("department_id")},
    "care_team": {"care_team": _rows},
    "calls": {"calls": _rows},
    "prescriptions": {"prescriptions": _rows, "prescriptions_scheduled": _filled("dea_schedule")},
    "departments": {"departments": _rows},
}


def _counts(conn: Connection) -> dict[str, int]:
    """Every count of :data:`COUNTED`."""
    out: dict[str, int] = {}
    for table, wanted in COUNTED.items():
        t = DOMAIN_TABLES[table]
        row = conn.execute(select(*(count(t.c) for count in wanted.values())).select_from(t))
        out.update(zip(wanted, (int(v) for v in row.one()), strict=True))
    return out


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _access_counts(stores: Stores, users: pa.Table, patients: pa.Table) -> dict[str, int]:
    """Accesses in the lake, and those whose user and patient the directory knows."""
    files = [str(f) for f in list_files(stores.settings.lake_dir)]
    if not files:
        return {"accesses": 0, "accesses_known_user": 0, "accesses_known_patient": 0}
    con = duckdb.connect()
    try:
        con.register("users", users)
        con.register("patients", patients)
        row = con.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE u.user_id IS NOT NULL),
                   count(*) FILTER (WHERE p.patient_id IS NOT NULL)
            FROM read_parquet(?) e
            LEFT JOIN users u ON e.user_id = u.user_id
            LEFT JOIN patients p ON e.patient_id = p.patient_id
            """,
            [files],
        ).fetchone()
    finally:
        con.close()
    total, known_user, known_patient = row if row is not None else (0, 0, 0)
    return {
        "accesses": int(total),
        "accesses_known_user": int(known_user),
        "accesses_known_patient": int(known_patient),
    }


def _state(share: float | None) -> str:
    if not share:
        return "missing"
    return "ok" if share >= PARTIAL else "partial"


def readiness(stores: Stores) -> Readiness:
    """Compute the readiness report from the operational store and the event lake."""
    w, pt = DOMAIN_TABLES["workforce"], DOMAIN_TABLES["patients"]
    with stores.engine.connect() as conn:
        n = _counts(conn)
    keys = read_arrow_many(
        stores.engine, {"users": select(w.c.user_id), "patients": select(pt.c.patient_id)}
    )
    n.update(_access_counts(stores, keys["users"], keys["patients"]))
    wf, pts = n["workforce"], n["patients"]
    shares = {
        "accesses_known_user": _share(n["accesses_known_user"], n["accesses"]),
        "accesses_known_patient": _share(n["accesses_known_patient"], n["accesses"]),
        "workforce_role": _share(n["workforce_role"], wf),
        "workforce_department": _share(n["workforce_department"], wf),
        "workforce_shift": _share(n["workforce_shift"], wf),
        "workforce_address": _share(n["workforce_address"], wf),
        "patients_address": _share(n["patients_address"], pts),
        "patients_phone": _share(n["patients_phone"], pts),
        "encounters_department": _share(n["encounters_department"], n["encounters"]),
    }
    return Readiness(shares, n, _checks(n, shares))


def refresh(stores: Stores) -> Readiness:
    """Compute the report and keep it, so the dashboard can show it without a lake scan."""
    report = readiness(stores)
    with stores.engine.begin() as conn:
        conn.execute(
            readiness_reports.insert().values(
                computed_at=datetime.now(UTC).replace(tzinfo=None), report=report.as_json()
            )
        )
    return report


def latest(engine: Engine) -> tuple[datetime, Readiness] | None:
    """The newest kept report and when it was computed (None before the first ingest)."""
    t = readiness_reports
    with engine.connect() as conn:
        row = conn.execute(
            select(t.c.computed_at, t.c.report).order_by(t.c.report_id.desc()).limit(1)
        ).first()
    return None if row is None else (row[0], Readiness.from_json(row[1]))


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def _checks(n: dict[str, int], s: dict[str, float | None]) -> list[Check]:
    """What each analysis can and cannot do with what was loaded."""
    out: list[Check] = []

    def add(topic: str, state: str, detail: str) -> None:
        out.append(Check(topic, state, detail))

    if not n["accesses"]:
        add("accesses", "missing", "no accesses loaded: monitoring has nothing to review")
    else:
        unknown = n["accesses"] - n["accesses_known_user"]
        add(
            "accesses",
            "ok" if not unknown else "partial",
            f"{n['accesses']:,} accesses; {_pct(s['accesses_known_user'])} by a known user, "
            f"{_pct(s['accesses_known_patient'])} of a known patient"
            + (f"; {unknown:,} by accounts missing from the directory" if unknown else ""),
        )
    add(
        "workforce roles",
        _state(s["workforce_role"]),
        f"{_pct(s['workforce_role'])} of {n['workforce']:,} users have a known role"
        + (
            ""
            if (s["workforce_role"] or 0) >= 1
            else ": map the rest under [roles] "
            "(role workflows and peer groups treat them as 'other')"
        ),
    )
    add(
        "departments",
        _state(s["workforce_department"]),
        f"{_pct(s['workforce_department'])} of users have a department; "
        f"{_pct(s['encounters_department'])} of {n['encounters']:,} encounters name one "
        "(the department-encounter explanation needs both)",
    )
    add(
        "after hours",
        _state(s["workforce_shift"]),
        f"{_pct(s['workforce_shift'])} of users have shift hours"
        + (
            ""
            if (s["workforce_shift"] or 0) >= 1
            else "; without: office departments use the facility's office hours, other "
            "users the hours learned from their own accesses (none for round-the-clock work)"
        ),
    )
    add(
        "care teams",
        "ok" if n["care_team"] else "missing",
        f"{n['care_team']:,} care-team rows"
        + (
            ""
            if n["care_team"]
            else ": only attendings and department encounters explain clinical accesses"
        ),
    )
    add(
        "calls",
        "ok" if n["calls"] else "missing",
        f"{n['calls']:,} call records (FHIR Communication, or calls.csv)"
        + (
            ""
            if n["calls"]
            else ": call-centre accesses have nothing to explain them and "
            "are judged by their relationships alone"
        ),
    )
    add(
        "relatives",
        "ok" if n["patient_contacts"] else "missing",
        f"{n['patient_contacts']:,} patient contacts; surname, address and phone matches "
        f"use {_pct(s['workforce_address'])} of users with an address",
    )
    add(
        "co-workers and self-access",
        "ok" if n["patients_employee"] else "partial",
        f"{n['patients_employee']:,} patients linked to a workforce member"
        + (
            ""
            if n["patients_employee"]
            else ": self-access is found by name with address or phone; co-worker detection needs "
            "the link (an EI identifier shared with a Practitioner)"
        ),
    )
    add(
        "restricted records",
        "ok" if n["patients_vip"] else "missing",
        f"{n['patients_vip']:,} patients marked VIP or restricted (meta.security R/V, tags)",
    )
    add(
        "controlled substances",
        "ok" if n["prescriptions_scheduled"] else "missing",
        f"{n['prescriptions_scheduled']:,} of {n['prescriptions']:,} prescriptions have a "
        "DEA schedule (from RxNorm, the drug name or the mapping)",
    )
    add(
        "terminated users",
        "ok" if n["workforce_ended"] else "partial",
        f"{n['workforce_ended']:,} users with an end of employment",
    )
    add(
        "identity",
        _state(s["patients_address"]),
        f"{_pct(s['patients_address'])} of {n['patients']:,} patients have an address, "
        f"{_pct(s['patients_phone'])} a phone",
    )
    return out


_MARK = {"ok": "[green]ok[/]", "partial": "[yellow]partial[/]", "missing": "[red]missing[/]"}


def print_readiness(console: Any, report: Readiness) -> None:
    """Print the checks as a table a person reads after an ingest."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="readiness: what the loaded data lets phiwarden do", show_lines=False)
    table.add_column("topic")
    table.add_column("state")
    table.add_column("detail")
    for check in report.checks:
        table.add_row(check.topic, _MARK[check.state], escape(check.detail))
    console.print(table)
