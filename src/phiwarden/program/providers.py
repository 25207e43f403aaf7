"""Service providers and business associates: the contract and the BAA, the last review of
the arrangement and the next one due (Red Flags program section VIII, oversight of service
providers; 45 CFR 164.502(e) and 164.504(e), business associate contracts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from phiwarden.program.csv_rows import key, parse_date, quarantine, require_columns, rows
from phiwarden.store.program_tables import service_providers
from phiwarden.store.setup import Stores

ALIASES = {
    "name": ("provider", "vendor", "company"),
    "provider_id": ("id", "vendor_id"),
    "service": ("services", "description"),
    "phi_access": ("phi", "handles_phi", "business_associate"),
    "contract_start": ("start", "contract_from"),
    "contract_end": ("end", "contract_to"),
    "baa_signed": ("baa", "baa_date"),
    "last_review": ("reviewed", "last_reviewed"),
    "review_every_months": ("review_months", "review_cycle_months"),
    "contact": ("email", "contact_email"),
}
_YES = {"y", "yes", "true", "1", "x"}


@dataclass(frozen=True)
class Loaded:
    """What one import did."""

    saved: int
    quarantined: int


def _row(row: dict[str, str]) -> dict[str, Any]:
    name = row.get("name", "").strip()
    if not name:
        raise ValueError("no provider name")
    months = row.get("review_every_months", "").strip() or "12"
    if not months.isdigit() or not 1 <= int(months) <= 60:
        raise ValueError(f"review_every_months {months!r} is not 1 to 60")
    start = parse_date(row.get("contract_start", ""), "contract_start")
    end = parse_date(row.get("contract_end", ""), "contract_end")
    if start and end and end < start:
        raise ValueError("contract_end is before contract_start")
    return {
        "provider_id": (row.get("provider_id") or key(name))[:64],
        "name": name[:255],
        "service": row.get("service", ""),
        "phi_access": row.get("phi_access", "").strip().lower() in _YES,
        "contract_start": start,
        "contract_end": end,
        "baa_signed": parse_date(row.get("baa_signed", ""), "baa_signed"),
        "last_review": parse_date(row.get("last_review", ""), "last_review"),
        "review_every_months": int(months),
        "contact": row.get("contact") or None,
    }


def import_csv(stores: Stores, path: Path, now: datetime | None = None) -> Loaded:
    """Add or update providers from a CSV (name, service, phi_access, contract and BAA
    dates, last review); a bad row goes to quarantine with its line."""
    require_columns(path, ALIASES, ("name",))
    at = (now or datetime.now()).replace(microsecond=0)
    saved = bad = 0
    with stores.engine.begin() as conn:
        for line, raw in rows(path, ALIASES):
            try:
                values = _row(raw)
            except ValueError as exc:
                bad += quarantine(
                    conn, stores.protector, path, line, "service_provider", str(exc), raw
                )
                continue
            save(conn, values, at)
            saved += 1
    return Loaded(saved, bad)


def save(conn: Any, values: dict[str, Any], at: datetime) -> None:
    """Insert or replace one provider."""
    pid = values["provider_id"]
    exists = conn.execute(
        select(service_providers.c.provider_id).where(service_providers.c.provider_id == pid)
    ).first()
    row = {**values, "updated_at": at}
    if exists:
        conn.execute(
            service_providers.update().where(service_providers.c.provider_id == pid).values(**row)
        )
    else:
        conn.execute(service_providers.insert().values(**row))


def status(row: dict[str, Any], today: date) -> dict[str, Any]:
    """A provider with its next review date and what needs attention."""
    base = row["last_review"] or row["contract_start"]
    due = base + relativedelta(months=row["review_every_months"]) if base else today
    issues = []
    if row["phi_access"] and row["baa_signed"] is None:
        issues.append("handles PHI without a signed BAA")
    if due < today:
        issues.append(f"review overdue since {due}")
    if row["contract_end"] is not None and row["contract_end"] < today:
        issues.append(f"contract ended {row['contract_end']}")
    return {**row, "next_review": due, "issues": issues}


def list_providers(stores: Stores, today: date) -> list[dict[str, Any]]:
    """Every provider with its status, the ones needing attention first."""
    with stores.engine.connect() as conn:
        found = conn.execute(
            select(service_providers).order_by(service_providers.c.name)
        ).mappings()
        out = [status(dict(r), today) for r in found]
    return sorted(out, key=lambda r: (not r["issues"], r["next_review"], r["name"]))
