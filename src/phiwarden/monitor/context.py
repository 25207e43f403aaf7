"""What one monitor run reads: the window's access events and the operational records.

The events stay in the lake and are read by the engine (DuckDB or Spark). The operational
records a run needs are read from the store once, limited to the window plus the
explanation margins, given matching keys (:mod:`phiwarden.monitor.keys`), and handed to
the same engine as in-memory tables, so every join below is one engine's work.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend
from sqlalchemy import Engine, literal_column, select

from phiwarden.lake.reader import access_events, access_openings, spark_ddl
from phiwarden.monitor.config import MonitorConfig
from phiwarden.monitor.per_patient import (
    PER_PATIENT,
    TYPES,
    index_keys,
    people_keys,
    read_per_patient,
    typed,
)
from phiwarden.store.arrow_read import read_arrow_many, sql_literal
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores


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
    #: the window's accesses as (user, patient, hour) openings: see
    #: :func:`phiwarden.lake.reader.openings_of`
    openings: ir.Table
    tables: dict[str, ir.Table] = field(default_factory=dict)
    arrow: dict[str, pa.Table] = field(default_factory=dict)
    #: explanation templates mined from this hospital's own log, with their support
    mined: list[dict[str, Any]] = field(default_factory=list)

    #: the store, read again for the per-patient tables (:mod:`.per_patient`)
    engine: Engine | None = None
    #: the patients the per-patient tables are read for: None for every patient
    patients_of_interest: pa.Array | None = None

    def __getitem__(self, name: str) -> ir.Table:
        if name not in self.tables and name in PER_PATIENT:
            if self.engine is None:
                raise RuntimeError(f"{name} needs the store: build the context with an engine")
            table = read_per_patient(
                self.engine, name, self.window.since, self.patients_of_interest
            )
            self.arrow[name] = table
            self.tables[name] = self.register(name, table)
        return self.tables[name]

    def narrow(self, patient_ids: pa.Array) -> None:
        """Read the per-patient tables (contacts, addresses, phones, coverages, controlled
        prescriptions, last encounters) for these patients only, when first asked for.

        Detectors join them with the unexplained patients alone (see :mod:`.per_patient`).
        """
        self.patients_of_interest = patient_ids
        for name in PER_PATIENT:
            self.tables.pop(name, None)
            self.arrow.pop(name, None)

    def register(self, name: str, table: pa.Table) -> ir.Table:
        """An Arrow table as a table of this run's engine.

        DuckDB reads it in place (a memtable). Spark gets a temporary view: Ibis does not
        register memtables used inside a cached Spark expression.
        """
        return register(self.con, name, table)


def register(con: BaseBackend, name: str, table: pa.Table) -> ir.Table:
    """See :meth:`Context.register`."""
    if con.name == "pyspark":
        view = f"phiwarden_{name}"
        session = con._session
        frame = session.createDataFrame(table.to_pandas(), schema=spark_ddl(table.schema))
        frame.createOrReplaceTempView(view)
        return con.table(view)
    return ibis.memtable(table)


#: (store table, columns, time column bounding the rows or None) of each plain read.
_PLAIN: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "workforce": (
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
        None,
    ),
    "departments": ("departments", ("department_id", "name", "kind", "facility_id"), None),
    # every patient, with what chance is judged on (the rest of a patient's record is
    # read for the unexplained patients only: "patients" in per_patient.py)
    "patient_index": (
        "patients",
        (
            "patient_id",
            "mrn",
            "last_name",
            "address_line",
            "city",
            "zip",
            "vip",
            "watch_list",
            "employee_user_id",
        ),
        None,
    ),
    "orders": (
        "orders",
        ("patient_id", "kind", "ordered_by_user_id", "performing_department_id", "ordered_at"),
        "ordered_at",
    ),
    "prescriptions": (
        "prescriptions",
        ("patient_id", "prescriber_user_id", "dea_schedule", "prescribed_at"),
        "prescribed_at",
    ),
    "lab_results": (
        "lab_results",
        ("patient_id", "resulted_by_user_id", "resulted_at"),
        "resulted_at",
    ),
    "calls": ("calls", ("patient_id", "user_id", "start", "end"), "start"),
    "registrations": (
        "registrations",
        ("patient_id", "registered_by_user_id", "registered_at"),
        "registered_at",
    ),
    "patient_merges": (
        "patient_merges",
        ("surviving_patient_id", "merged_by_user_id", "merged_at"),
        "merged_at",
    ),
}


def _queries(
    window: Window, config: MonitorConfig
) -> dict[str, tuple[Any, dict[str, pa.DataType]]]:
    """Every query a run needs, with the canonical type of each result column."""
    margin = timedelta(
        days=max(config.after_discharge_days, config.order_followup_days, config.workflow_days)
    ) + timedelta(hours=max(config.encounter_before_hours, config.record_margin_hours))
    lo: Any = literal_column(sql_literal(window.start - margin))
    hi: Any = literal_column(sql_literal(window.end + margin))
    out: dict[str, tuple[Any, dict[str, pa.DataType]]] = {}
    for name, (table, columns, bound) in _PLAIN.items():
        t = domain_table(table)
        query = select(*(t.c[c] for c in columns))
        if bound is not None:
            query = query.where(t.c[bound].between(lo, hi))
        out[name] = (query, {c: TYPES[(table, c)] for c in columns})
    enc, care = domain_table("encounters"), domain_table("care_team")
    a = domain_table("appointments")
    overlaps = (enc.c.start <= hi) & (enc.c.end.is_(None) | (enc.c.end >= lo))
    enc_cols = (
        "encounter_id",
        "patient_id",
        "department_id",
        "facility_id",
        "start",
        "end",
        "attending_user_id",
    )
    out["encounters"] = (
        select(*(enc.c[c] for c in enc_cols)).where(overlaps),
        {c: TYPES[("encounters", c)] for c in enc_cols},
    )
    out["care_team"] = (
        select(care.c.encounter_id, care.c.user_id)
        .join(enc, enc.c.encounter_id == care.c.encounter_id)
        .where(overlaps),
        {"encounter_id": pa.string(), "user_id": pa.string()},
    )
    ap_cols = (
        "patient_id",
        "department_id",
        "scheduled_by_user_id",
        "provider_user_id",
        "scheduled_at",
        "start",
    )
    out["appointments"] = (
        select(*(a.c[c] for c in ap_cols)).where(
            a.c.scheduled_at.between(lo, hi) | a.c.start.between(lo, hi)
        ),
        {c: TYPES[("appointments", c)] for c in ap_cols},
    )
    return out


#: the reads that take longest first (measured at 10M accesses), so two readers end together
_LONGEST_FIRST = ("encounters", "patient_index", "care_team", "lab_results", "calls")


def read_operational(engine: Engine, window: Window, config: MonitorConfig) -> dict[str, pa.Table]:
    """The operational records a run over ``window`` needs, with matching keys.

    Each table is typed and keyed as it arrives, while the next is still being read.
    """
    queries = _queries(window, config)
    order = [*_LONGEST_FIRST, *(n for n in queries if n not in _LONGEST_FIRST)]

    def finish(name: str, raw: pa.Table) -> pa.Table:
        table = typed(raw, queries[name][1])
        if name == "workforce":
            return people_keys(table)
        if name == "patient_index":
            return index_keys(table)
        return table

    read = read_arrow_many(engine, {name: queries[name][0] for name in order}, finish)
    return {name: read[name] for name in queries}


def no_cache(table: ir.Table) -> ir.Table:
    """The default ``cache`` of the run's stages: materialise nothing."""
    return table


def build_context(
    stores: Stores,
    con: BaseBackend,
    window: Window,
    config: MonitorConfig,
    cache: Callable[[ir.Table], ir.Table] = no_cache,
) -> Context:
    """Read the window's events from the lake and the operational records from the store.

    The store is read in a thread while the engine reads the window's openings (the
    lake's daily rollups, or the events grouped where a day has none; ``cache``
    materialises them): neither waits on the other.
    """
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(read_operational, stores.engine, window, config)
        lake = stores.settings.lake_dir
        events = access_events(con, lake, window.since, window.until)
        opened = cache(access_openings(con, lake, window.since, window.until))
        arrow = pending.result()
    tables = {name: register(con, name, table) for name, table in arrow.items()}
    return Context(con, window, config, events, opened, tables, arrow, engine=stores.engine)
