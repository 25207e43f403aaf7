"""What one monitor run reads: the window's access events and the operational records.

The events stay in the lake and are read by the engine (DuckDB or Spark). The operational
records a run needs are read from the store once, limited to the window plus the
explanation margins, given matching keys (:mod:`phiwarden.monitor.keys`), and handed to
the same engine as in-memory tables, so every join below is one engine's work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend
from sqlalchemy import Connection, Engine, func, select

from phiwarden.domain.canonical import OPERATIONAL_TABLES
from phiwarden.lake.reader import access_events
from phiwarden.monitor import keys
from phiwarden.monitor.config import MonitorConfig
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

_TYPES: dict[tuple[str, str], pa.DataType] = {
    (t.name, f.name): f.type for t in OPERATIONAL_TABLES for f in t.schema
}
Key = Callable[..., str | None]


@dataclass(frozen=True)
class Window:
    """The review window: whole days ``since..until``, both inclusive."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        """First instant of the window."""
        return datetime.combine(self.since, time())

    @property
    def end(self) -> datetime:
        """First instant after the window."""
        return datetime.combine(self.until + timedelta(days=1), time())


@dataclass
class Context:
    """The engine, the window and every table a detector may join, as Ibis tables."""

    con: BaseBackend
    window: Window
    config: MonitorConfig
    events: ir.Table
    tables: dict[str, ir.Table] = field(default_factory=dict)
    arrow: dict[str, pa.Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ir.Table:
        return self.tables[name]


def _read(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    where: Any = None,
) -> pa.Table:
    t = domain_table(table)
    query = select(*(t.c[c] for c in columns))
    if where is not None:
        query = query.where(where(t))
    rows = conn.execute(query).all()
    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    schema = pa.schema([(c, _TYPES[(table, c)]) for c in columns])
    return pa.table([pa.array(list(v), f.type) for v, f in zip(data, schema, strict=True)], schema)


def _with_keys(table: pa.Table, derived: dict[str, tuple[Key, Sequence[str]]]) -> pa.Table:
    """Add key columns computed in Python from other columns of the same rows."""
    cols = {name: table.column(name).to_pylist() for spec in derived.values() for name in spec[1]}
    for name, (fn, inputs) in derived.items():
        values = [fn(*args) for args in zip(*(cols[i] for i in inputs), strict=True)]
        table = table.append_column(name, pa.array(values, pa.string()))
    return table


def _people_keys(prefix: str = "") -> dict[str, tuple[Key, Sequence[str]]]:
    line, city, zip_ = f"{prefix}address_line", f"{prefix}city", f"{prefix}zip"
    return {
        "addr_key": (keys.address_key, (line, zip_, city)),
        "street_key": (keys.street_key, (line, city, zip_)),
        "phone_key": (keys.phone_key, (f"{prefix}phone",)),
        "first_key": (keys.name_key, (f"{prefix}first_name",)),
        "last_key": (keys.name_key, (f"{prefix}last_name",)),
        "last_sound": (keys.sound_key, (f"{prefix}last_name",)),
    }


def read_operational(engine: Engine, window: Window, config: MonitorConfig) -> dict[str, pa.Table]:
    """The operational records a run over ``window`` needs, with matching keys."""
    margin = timedelta(
        days=max(config.after_discharge_days, config.order_followup_days, config.workflow_days)
    ) + timedelta(hours=max(config.encounter_before_hours, config.record_margin_hours))
    lo, hi = window.start - margin, window.end + margin

    def between(column: str) -> Callable[[Any], Any]:
        return lambda t: t.c[column].between(lo, hi)

    out: dict[str, pa.Table] = {}
    with engine.connect() as conn:
        out["workforce"] = _with_keys(
            _read(
                conn,
                "workforce",
                (
                    "user_id",
                    "login",
                    "first_name",
                    "last_name",
                    "role",
                    "department_id",
                    "hire_date",
                    "termination_date",
                    "address_line",
                    "city",
                    "state",
                    "zip",
                    "phone",
                    "shift_start_hour",
                    "shift_end_hour",
                ),
            ),
            _people_keys(),
        )
        out["departments"] = _read(conn, "departments", ("department_id", "name", "kind"))
        patients = _read(
            conn,
            "patients",
            (
                "patient_id",
                "mrn",
                "first_name",
                "last_name",
                "dob",
                "address_line",
                "city",
                "state",
                "zip",
                "phone",
                "deceased_date",
                "vip",
                "watch_list",
                "employee_user_id",
            ),
        )
        mrn_num = [
            int(m) if m and m.isdigit() and len(m) < 18 else None
            for m in patients.column("mrn").to_pylist()
        ]
        out["patients"] = _with_keys(patients, _people_keys()).append_column(
            "mrn_num", pa.array(mrn_num, pa.int64())
        )
        out["patient_addresses"] = _with_keys(
            _read(conn, "patient_addresses", ("patient_id", "address_line", "city", "zip")),
            {
                "addr_key": (keys.address_key, ("address_line", "zip", "city")),
                "street_key": (keys.street_key, ("address_line", "city", "zip")),
            },
        )
        out["patient_phones"] = _with_keys(
            _read(conn, "patient_phones", ("patient_id", "phone")),
            {"phone_key": (keys.phone_key, ("phone",))},
        )
        out["patient_contacts"] = _with_keys(
            _read(
                conn,
                "patient_contacts",
                (
                    "patient_id",
                    "kind",
                    "first_name",
                    "last_name",
                    "relationship",
                    "address_line",
                    "city",
                    "zip",
                    "phone",
                ),
            ),
            _people_keys(),
        )
        out["coverages"] = _with_keys(
            _read(
                conn,
                "coverages",
                (
                    "patient_id",
                    "subscriber_first_name",
                    "subscriber_last_name",
                    "subscriber_relationship",
                ),
            ),
            {
                "first_key": (keys.name_key, ("subscriber_first_name",)),
                "last_key": (keys.name_key, ("subscriber_last_name",)),
            },
        )
        enc = domain_table("encounters")
        out["encounters"] = _read(
            conn,
            "encounters",
            ("encounter_id", "patient_id", "department_id", "start", "end", "attending_user_id"),
            lambda t: (t.c.start <= hi) & ((t.c.end.is_(None)) | (t.c.end >= lo)),
        )
        care = domain_table("care_team")
        rows = conn.execute(
            select(care.c.encounter_id, care.c.user_id)
            .join(enc, enc.c.encounter_id == care.c.encounter_id)
            .where((enc.c.start <= hi) & (enc.c.end.is_(None) | (enc.c.end >= lo)))
        ).all()
        out["care_team"] = pa.table(
            {
                "encounter_id": pa.array([r[0] for r in rows], pa.string()),
                "user_id": pa.array([r[1] for r in rows], pa.string()),
            }
        )
        last = conn.execute(
            select(enc.c.patient_id, func.max(func.coalesce(enc.c.end, enc.c.start)))
            .where(enc.c.start < window.start)
            .group_by(enc.c.patient_id)
        ).all()
        out["last_encounter"] = pa.table(
            {
                "patient_id": pa.array([r[0] for r in last], pa.string()),
                "last_seen": pa.array([r[1] for r in last], pa.timestamp("us")),
            }
        )
        out["orders"] = _read(
            conn,
            "orders",
            ("patient_id", "ordered_by_user_id", "performing_department_id", "ordered_at"),
            between("ordered_at"),
        )
        out["prescriptions"] = _read(
            conn,
            "prescriptions",
            ("patient_id", "prescriber_user_id", "dea_schedule", "prescribed_at"),
            between("prescribed_at"),
        )
        out["controlled"] = _read(
            conn,
            "prescriptions",
            ("patient_id", "prescriber_user_id", "dea_schedule", "drug"),
            lambda t: t.c.dea_schedule.is_not(None) & (t.c.dea_schedule != ""),
        )
        out["lab_results"] = _read(
            conn,
            "lab_results",
            ("patient_id", "resulted_by_user_id", "resulted_at"),
            between("resulted_at"),
        )
        out["appointments"] = _read(
            conn,
            "appointments",
            ("patient_id", "scheduled_by_user_id", "provider_user_id", "scheduled_at", "start"),
            lambda t: t.c.scheduled_at.between(lo, hi) | t.c.start.between(lo, hi),
        )
        out["calls"] = _read(
            conn, "calls", ("patient_id", "user_id", "start", "end"), between("start")
        )
        out["registrations"] = _read(
            conn,
            "registrations",
            ("patient_id", "registered_by_user_id", "registered_at"),
            between("registered_at"),
        )
        out["patient_merges"] = _read(
            conn,
            "patient_merges",
            ("surviving_patient_id", "merged_by_user_id", "merged_at"),
            between("merged_at"),
        )
    return out


def build_context(
    stores: Stores, con: BaseBackend, window: Window, config: MonitorConfig
) -> Context:
    """Read the window's events from the lake and the operational records from the store."""
    arrow = read_operational(stores.engine, window, config)
    tables = {name: ibis.memtable(table) for name, table in arrow.items()}
    events = access_events(con, stores.settings.lake_dir, window.since, window.until)
    return Context(con, window, config, events, tables, arrow)
