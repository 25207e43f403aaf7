"""Affected people that come as lists rather than documents: the monitoring population of
a snooping user (every patient they opened in a window, legitimate accesses included, as
in seed 000), and a business associate's CSV of people with the elements it exposed.

Both become findings of a source, unit by unit (one patient, one CSV line), through the
same writer as a mailbox scan, so they resume the same way and each person appears once
across all sources of the incident. A list row is linked to a patient by SSN (keyed
hash), MRN, member id, name with date of birth, or name with address; a row that links to
nobody is an unlinked person; a row that cannot be used is listed with its line and why.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from phiwarden.breach.people import ELEMENTS, Finding, Index, mask
from phiwarden.breach.recognizers import iso_date
from phiwarden.breach.scan import (
    ScanStats,
    finish_source,
    open_source,
    require_incident,
    write_results,
)
from phiwarden.breach.worker import UnitResult, unit_key
from phiwarden.identity.addresses import address_key
from phiwarden.identity.names import clean_name
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

#: what an electronic medical record shows of a patient it was opened on
EMR_ELEMENTS = ("name", "dob", "mrn", "address", "phone", "insurance", "clinical")
#: a business associate's column -> the element it holds
LIST_COLUMNS = {
    "name": "name",
    "full_name": "name",
    "first_name": "name",
    "last_name": "name",
    "dob": "dob",
    "date_of_birth": "dob",
    "birth_date": "dob",
    "ssn": "ssn",
    "mrn": "mrn",
    "member_id": "insurance",
    "policy_number": "insurance",
    "insurance_id": "insurance",
    "drivers_license": "drivers_license",
    "address": "address",
    "address_line": "address",
    "phone": "phone",
    "email": "email",
    "diagnosis": "clinical",
    "account_number": "financial_account",
}
_KEY = re.compile(r"[^a-z0-9]+")


def _column(name: str) -> str:
    return _KEY.sub("_", name.strip().lower()).strip("_")


def population_units(
    stores: Stores,
    user_id: str,
    since: date,
    until: date,
    elements: tuple[str, ...],
    engine: str | None = None,
) -> Iterator[UnitResult]:
    """One unit per patient the user opened: the elements the record shows that the
    patient has on file, dated by the first access."""
    from phiwarden.monitor.population import population

    unknown = sorted(set(elements) - set(ELEMENTS))
    if unknown:
        raise ValueError(f"unknown element(s) {', '.join(unknown)}: use {', '.join(ELEMENTS)}")
    rows = population(stores, user_id, since, until, engine=engine)
    p, cov = domain_table("patients"), domain_table("coverages")
    on_file: dict[str, dict[str, bool]] = {}
    insured: set[str] = set()
    ids = [r["patient_id"] for r in rows]
    with stores.engine.connect() as conn:
        for start in range(0, len(ids), 5_000):
            chunk = ids[start : start + 5_000]
            for r in conn.execute(
                select(
                    p.c.patient_id, p.c.dob, p.c.ssn_hash, p.c.phone, p.c.address_line, p.c.email
                ).where(p.c.patient_id.in_(chunk))
            ).mappings():
                on_file[r["patient_id"]] = {
                    "dob": bool(r["dob"]),
                    "ssn": bool(r["ssn_hash"]),
                    "phone": bool(r["phone"]),
                    "address": bool(r["address_line"]),
                    "email": bool(r["email"]),
                }
            insured |= set(
                conn.execute(select(cov.c.patient_id).where(cov.c.patient_id.in_(chunk))).scalars()
            )
    for row in rows:
        pid = row["patient_id"]
        has = on_file.get(pid, {}) | {"insurance": pid in insured}
        where = (
            f"EHR access by {user_id}: opened {row['accesses']} time(s) "
            f"{row['first_access']:%Y-%m-%d} to {row['last_access']:%Y-%m-%d} ({row['actions']})"
        )
        first = row["first_access"]
        findings = [
            Finding(where, e, pid, pid, "", (), f"record opened by {user_id}", first)
            for e in elements
            if has.get(e, True)
        ]
        yield UnitResult(unit_key(f"patient:{pid}"), f"patient:{pid}", 0, 0, 0, findings)


def add_population(
    stores: Stores,
    incident_id: str,
    user_id: str,
    since: date,
    until: date,
    *,
    actor: str,
    elements: tuple[str, ...] = EMR_ELEMENTS,
    engine: str | None = None,
    now: datetime | None = None,
) -> ScanStats:
    """Add every patient ``user_id`` opened from ``since`` to ``until`` to the incident."""
    require_incident(stores, incident_id)
    label = f"patients opened by {user_id} from {since} to {until}"
    return _write(
        stores,
        incident_id,
        "population",
        label,
        population_units(stores, user_id, since, until, elements, engine),
        actor,
        now,
    )


def _write(
    stores: Stores,
    incident_id: str,
    kind: str,
    label: str,
    units: Iterator[UnitResult],
    actor: str,
    now: datetime | None,
) -> ScanStats:
    at = (now or datetime.now()).replace(microsecond=0)
    with stores.engine.begin() as conn:
        source_id, done = open_source(conn, incident_id, kind, label, "embedded", actor, at)
    total = ScanStats(sources=[source_id])
    batch: list[UnitResult] = []

    def flush() -> None:
        with stores.engine.begin() as conn:
            got = write_results(conn, incident_id, source_id, batch, at)
        total.units += got.units
        total.bytes += got.bytes
        batch.clear()

    for unit in units:
        if unit.key in done:
            total.skipped += 1
            continue
        batch.append(unit)
        if len(batch) >= 1_000:
            flush()
    if batch:
        flush()
    finish_source(stores, incident_id, source_id, kind, label, actor, now)
    return total


def _link_row(values: dict[str, str], index: Index) -> str | None:
    """The patient a list row names, by SSN, MRN, member id, name with DOB or address."""
    if values.get("ssn"):
        found = index.by_ssn.get(index.protector.keyed_hash(values["ssn"]))
        if found:
            return found
    if values.get("mrn") and values["mrn"].strip() in index.by_mrn:
        return index.by_mrn[values["mrn"].strip()]
    member = re.sub(r"\W", "", values.get("insurance", "")).upper()
    if member and member in index.by_member:
        return index.by_member[member]
    first, last = clean_name(values.get("first", "")), clean_name(values.get("last", ""))
    pids = index.by_name.get(f"{first} {last}", []) if first and last else []
    dob = iso_date(values.get("dob", "").strip()) if values.get("dob") else None
    if dob:
        pids = [p for p in pids if index.patients[p]["dob"] == dob] or []
    elif values.get("address"):
        key = address_key(values["address"])
        pids = [p for p in pids if key and index.patients[p]["address"] == key]
    return pids[0] if len(pids) == 1 else None


def list_units(path: Path, index: Index) -> Iterator[UnitResult]:
    """One unit per line of a business associate's CSV."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise ValueError(f"{path} has no header row: name the columns (name, dob, ssn, ...)")
        columns = {c: _column(c) for c in reader.fieldnames}
        known = [c for c, k in columns.items() if k in LIST_COLUMNS or k == "elements"]
        if not known:
            raise ValueError(
                f"{path}: none of the columns {', '.join(reader.fieldnames)} is known: "
                f"use {', '.join(sorted(LIST_COLUMNS))} and elements"
            )
        mtime = datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
        for line, row in enumerate(reader, start=2):
            yield _list_row(path, line, row, columns, index, mtime)


def _list_row(
    path: Path,
    line: int,
    row: dict[str, Any],
    columns: dict[str, str],
    index: Index,
    mtime: datetime,
) -> UnitResult:
    where = f"{path.name}:{line}"
    result = UnitResult(unit_key(where), where, 0, 0, 0)
    values: dict[str, str] = {}
    named: set[str] = set()
    listed: set[str] = set()
    for column, key in columns.items():
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if key == "elements":
            listed |= {e.strip().lower() for e in re.split(r"[;,|]", value) if e.strip()}
        elif key in LIST_COLUMNS:
            element = LIST_COLUMNS[key]
            slot = {"first_name": "first", "last_name": "last"}.get(key, element)
            values[slot] = value
            named.add(element)
    if "name" in values and "first" not in values:
        parts = values["name"].replace(",", " ").split()
        comma = "," in values["name"]
        if len(parts) >= 2:
            values["first"], values["last"] = (
                (parts[1], parts[0]) if comma else (parts[0], parts[-1])
            )
    unknown = sorted(listed - set(ELEMENTS))
    if unknown:
        result.unscannable.append((where, f"unknown element(s) {', '.join(unknown)}"))
        return result
    if not named:
        result.unscannable.append((where, "no name or identifier on the line"))
        return result
    pid = _link_row(values, index)
    label = ""
    person = pid
    if pid is None:
        name = " ".join(x for x in (values.get("first"), values.get("last")) if x)
        if name:
            person = index.stranger("name", clean_name(name) or name)
            label = mask("name", name)
        else:
            element, value = next(
                (e, values[e]) for e in ("ssn", "mrn", "insurance") if e in values
            )
            person = index.stranger(element, re.sub(r"\W", "", value))
            label = f"unnamed {element} {mask(element, value)}"
    assert person is not None
    for element in sorted(listed or named):
        result.findings.append(
            Finding(
                where, element, person, pid, label, (), "listed by the business associate", mtime
            )
        )
    return result


def add_list(
    stores: Stores,
    incident_id: str,
    path: Path,
    *,
    actor: str,
    mrn_pattern: str | None = None,
    now: datetime | None = None,
) -> ScanStats:
    """Add a business associate's list of people and their exposed elements."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file: give the business associate's CSV")
    require_incident(stores, incident_id)
    index = Index.load(stores.engine, stores.protector, mrn_pattern)
    return _write(
        stores, incident_id, "list", str(path.resolve()), list_units(path, index), actor, now
    )


__all__ = ["EMR_ELEMENTS", "add_list", "add_population"]
