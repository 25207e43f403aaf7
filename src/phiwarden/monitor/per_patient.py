"""Operational records detectors join only with the unexplained patients.

The patients' own records (names, birth dates, phones, addresses), contacts, past
addresses, phones, coverages, controlled-substance prescriptions and each patient's last
encounter before the window are joined with the unexplained (user, patient) pairs alone:
a few thousand patients of hundreds of thousands. A run reads them after the
explanation, for those patients only (``WHERE patient_id IN ...`` on an index), and
computes their matching keys then; at 10M accesses reading and keying every row took
about 2 s of the run. What chance is judged on for every patient (surname sound, street,
VIP and employee flags, numeric MRNs) is the context's ``patient_index``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, literal_column, select

from phiwarden.domain.canonical import OPERATIONAL_TABLES
from phiwarden.monitor import keys
from phiwarden.store.arrow_read import (
    read_arrow_many,
    read_arrow_where_in,
    sql_literal,
    typed_table,
)
from phiwarden.store.repositories import domain_table

TYPES: dict[tuple[str, str], pa.DataType] = {
    (t.name, f.name): f.type for t in OPERATIONAL_TABLES for f in t.schema
}
#: (store table, columns) of the plain per-patient reads
_PLAIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients": (
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
    ),
    "patient_addresses": ("patient_addresses", ("patient_id", "address_line", "city", "zip")),
    "patient_phones": ("patient_phones", ("patient_id", "phone")),
    "patient_contacts": (
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
    "coverages": (
        "coverages",
        (
            "patient_id",
            "subscriber_first_name",
            "subscriber_last_name",
            "subscriber_relationship",
        ),
    ),
    "controlled": (
        "prescriptions",
        ("patient_id", "prescriber_user_id", "dea_schedule", "drug"),
    ),
}
#: Every table this module reads.
PER_PATIENT: tuple[str, ...] = (*_PLAIN, "last_encounter")


def typed(raw: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """The canonical columns of ``raw``, in ``types`` order, cast to their types."""
    return typed_table(raw.select(list(types)), types)


def people_keys(table: pa.Table, prefix: str = "") -> pa.Table:
    """Add addr_key, street_key, phone_key, first_key, last_key, last_sound."""
    c = table.column
    line, city, zip_ = c(f"{prefix}address_line"), c(f"{prefix}city"), c(f"{prefix}zip")
    cleaned = keys.clean_lines(line)
    keys_ = {
        "addr_key": keys.address_keys(line, zip_, city, cleaned),
        "street_key": keys.street_keys(line, city, zip_, cleaned),
        "phone_key": keys.phone_keys(c(f"{prefix}phone")),
        "first_key": keys.name_keys(c(f"{prefix}first_name")),
        "last_key": keys.name_keys(c(f"{prefix}last_name")),
        "last_sound": keys.sound_keys(c(f"{prefix}last_name")),
    }
    for name, values in keys_.items():
        table = table.append_column(name, values)
    return table


def _query(name: str, since: date) -> tuple[Any, Any, dict[str, pa.DataType]]:
    """(query, its patient_id column, result types) of one per-patient table."""
    if name == "last_encounter":
        enc = domain_table("encounters")
        start: Any = literal_column(sql_literal(datetime.combine(since, time())))
        query = (
            select(
                enc.c.patient_id,
                func.max(func.coalesce(enc.c.end, enc.c.start)).label("last_seen"),
            )
            .where(enc.c.start < start)
            .group_by(enc.c.patient_id)
        )
        return query, enc.c.patient_id, {"patient_id": pa.string(), "last_seen": pa.timestamp("us")}
    table, columns = _PLAIN[name]
    t = domain_table(table)
    query = select(*(t.c[c] for c in columns))
    if name == "controlled":
        query = query.where(t.c.dea_schedule.is_not(None) & (t.c.dea_schedule != ""))
    return query, t.c.patient_id, {c: TYPES[(table, c)] for c in columns}


def mrn_numbers(mrn: pa.ChunkedArray) -> pa.ChunkedArray:
    """MRNs that are plain numbers as integers (consecutive MRNs), else null."""
    numeric = pc.match_substring_regex(mrn, r"^[0-9]{1,17}$")
    return pc.if_else(numeric, pc.cast(pc.if_else(numeric, mrn, "0"), pa.int64()), None)


def index_keys(table: pa.Table) -> pa.Table:
    """The patient index with the keys chance is judged on: street, surname sound, MRN."""
    line, city, zip_ = (table.column(c) for c in ("address_line", "city", "zip"))
    return (
        table.append_column("street_key", keys.street_keys(line, city, zip_))
        .append_column("last_sound", keys.sound_keys(table.column("last_name")))
        .append_column("mrn_num", mrn_numbers(table.column("mrn")))
    )


def with_keys(name: str, table: pa.Table) -> pa.Table:
    """A per-patient table with the matching keys its detectors join on."""
    if name == "patients":
        return people_keys(table).append_column("mrn_num", mrn_numbers(table.column("mrn")))
    if name == "patient_addresses":
        line, city, zip_ = (table.column(c) for c in ("address_line", "city", "zip"))
        return table.append_column("addr_key", keys.address_keys(line, zip_, city)).append_column(
            "street_key", keys.street_keys(line, city, zip_)
        )
    if name == "patient_phones":
        return table.append_column("phone_key", keys.phone_keys(table.column("phone")))
    if name == "patient_contacts":
        return people_keys(table)
    if name == "coverages":
        return table.append_column(
            "first_key", keys.name_keys(table.column("subscriber_first_name"))
        ).append_column("last_key", keys.name_keys(table.column("subscriber_last_name")))
    return table


def read_per_patient(engine: Engine, name: str, since: date, patients: pa.Array | None) -> pa.Table:
    """One of :data:`PER_PATIENT` for ``patients`` (None: every patient), typed and keyed.

    ``since`` is the window's first day (the last encounter is the last one before it).
    """
    if name not in PER_PATIENT:
        raise KeyError(f"{name} is not one of {', '.join(PER_PATIENT)}")
    query, column, types = _query(name, since)
    if patients is None:
        raw = read_arrow_many(engine, {name: query})[name]
    else:
        raw = read_arrow_where_in(engine, query, column, patients.to_pylist())
    return with_keys(name, typed(raw, types))
