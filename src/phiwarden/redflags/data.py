"""What the red-flag detectors read: the store's registrations, accounts and their
neighbours, loaded once per scan into an in-process DuckDB as Arrow tables, with the
patients' earlier demographics (``patient_history``) so a registration is compared with
what was on file when it was made.

SSNs stay hashed in DuckDB; the plain presented SSN is decrypted into Python memory only,
for the never-issued and randomisation rules, and never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import select

from phiwarden.domain.canonical import BY_NAME
from phiwarden.redflags.checks import Watch
from phiwarden.store.arrow_read import read_arrow_many, typed_table
from phiwarden.store.case_tables import identity_placeholders
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.repositories import domain_table
from phiwarden.store.schema import patient_history
from phiwarden.store.setup import Stores

_COLUMNS: dict[str, tuple[str, ...]] = {
    "registrations": (
        "registration_id",
        "patient_id",
        "mrn",
        "registered_at",
        "encounter_id",
        "presented_first_name",
        "presented_last_name",
        "presented_dob",
        "presented_sex",
        "presented_ssn_hash",
        "presented_address_line",
        "presented_city",
        "presented_state",
        "presented_zip",
        "presented_phone",
        "presented_payer",
        "presented_member_id",
        "id_type",
        "id_checked",
        "photo_on_file",
    ),
    "patients": (
        "patient_id",
        "mrn",
        "first_name",
        "last_name",
        "previous_names",
        "dob",
        "sex",
        "ssn_hash",
        "address_line",
        "zip",
        "phone",
        "deceased_date",
        "blood_type",
    ),
    "coverages": ("coverage_id", "patient_id", "member_id", "subscriber_relationship"),
    "eligibility_responses": (
        "response_id",
        "registration_id",
        "member_id",
        "loop",
        "first_name",
        "last_name",
        "dob",
        "aaa_code",
        "ins_changed",
    ),
    "billing_accounts": (
        "account_id",
        "patient_id",
        "opened_at",
        "returned_mail_count",
        "last_returned_mail_at",
        "last_activity_at",
    ),
    "transactions": ("transaction_id", "account_id", "encounter_id", "posted_at", "kind"),
    "complaints": (
        "complaint_id",
        "patient_id",
        "account_id",
        "kind",
        "received_at",
        "description",
    ),
    "lab_results": ("result_id", "order_id", "patient_id", "test", "value", "resulted_at"),
    "orders": ("order_id", "encounter_id"),
    "encounters": ("encounter_id", "patient_id", "start"),
    "fraud_watch": ("watch_id", "kind", "value", "reason"),
}


@dataclass
class ScanData:
    """The tables of one scan in DuckDB, the watch list, and the decrypted SSNs."""

    con: duckdb.DuckDBPyConnection
    watch: Watch
    ssn_of: dict[str, str]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


_ALERT_TYPES: dict[str, pa.DataType] = {
    "score": pa.float64(),
    "window_start": pa.date32(),
    "window_end": pa.date32(),
    "created_at": pa.timestamp("us"),
}


#: Demographics whose earlier values (HL7 A08/A31 updates) the detectors compare with.
HISTORY_FIELDS = ("first_name", "last_name", "dob", "sex")
_HISTORY_TYPES: dict[str, pa.DataType] = {
    "patient_id": pa.string(),
    "changed_at": pa.timestamp("us"),
    "field": pa.string(),
    "previous_value": pa.string(),
}


def _types(name: str) -> dict[str, pa.DataType]:
    if name == "alerts":
        return _ALERT_TYPES
    if name == "patient_history":
        return _HISTORY_TYPES
    schema = BY_NAME[name].schema
    return {f.name: f.type for f in schema}


def _drop_placeholders(stores: Stores, con: duckdb.DuckDBPyConnection) -> None:
    """Charts holding encounters separated from identity-theft victims are not people:
    their rows would raise flags against each other (one thief's blood type against
    another's), so no detector sees them. (Removed here rather than filtered in the store
    query, whose Arrow types are inferred from the first rows it returns.)"""
    with stores.engine.connect() as conn:
        ids = [str(p) for (p,) in conn.execute(select(identity_placeholders.c.patient_id))]
    if not ids:
        return
    for name in [*_COLUMNS, "patient_history"]:
        if "patient_id" in _COLUMNS.get(name, ("patient_id",)):
            con.execute(f"DELETE FROM {name} WHERE patient_id IN (SELECT unnest(?))", [ids])


def load(stores: Stores) -> ScanData:
    """Read everything the detectors need from the store."""
    queries = {}
    for name, cols in _COLUMNS.items():
        table = domain_table(name)
        queries[name] = select(*(table.c[c] for c in cols))
    queries["alerts"] = select(
        alerts.c.alert_id,
        alerts.c.user_id,
        alerts.c.score,
        alerts.c.status,
        alerts.c.window_start,
        alerts.c.window_end,
        alerts.c.reasons,
        alerts.c.created_at,
    )
    history = patient_history.c
    queries["patient_history"] = select(
        history.patient_id, history.changed_at, history.field, history.previous_value
    ).where(history.field.in_(HISTORY_FIELDS))
    raw = read_arrow_many(stores.engine, queries)
    tables = {name: typed_table(t, _types(name)) for name, t in raw.items()}
    reg = domain_table("registrations")
    ssn_of: dict[str, str] = {}
    with stores.engine.connect() as conn:
        for rid, token in conn.execute(
            select(reg.c.registration_id, reg.c.presented_ssn_encrypted).where(
                reg.c.presented_ssn_encrypted.is_not(None)
            )
        ):
            ssn_of[str(rid)] = stores.protector.decrypt(bytes(token))
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(f"{name}_arrow", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        con.unregister(f"{name}_arrow")
    _drop_placeholders(stores, con)
    # When each patient was first known to the hospital: the earliest account or registration.
    con.execute(
        """
        CREATE TABLE first_seen AS
        SELECT patient_id, min(seen) AS seen_at FROM (
          SELECT patient_id, registered_at AS seen FROM registrations
          UNION ALL SELECT patient_id, opened_at FROM billing_accounts
        ) GROUP BY patient_id
        """
    )
    watch = Watch.from_rows(tables["fraud_watch"].to_pylist())
    return ScanData(con=con, watch=watch, ssn_of=ssn_of)
