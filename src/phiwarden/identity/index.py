"""The patient index as person records, and the stored linkage index built from it.

``phiwarden link`` without ``--input`` reads every patient (SSNs as their keyed hash,
never decrypted) with the member id of their own coverage, links them, and stores the
normalised rows with their cluster and the trained parameters. ``candidates`` is the
real-time side: the patients sharing any blocking key with one record, by index lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select

from phiwarden.identity.model import BLOCKING, MATCH_THRESHOLD, Parameters
from phiwarden.identity.records import MATCH_SCHEMA
from phiwarden.store.arrow_read import read_arrow_many
from phiwarden.store.case_tables import identity_placeholders
from phiwarden.store.identity_tables import identity_index, identity_models
from phiwarden.store.repositories import connected, domain_table

_BATCH = 20_000
INDEX_COLUMNS = [c for c in MATCH_SCHEMA.names if c not in ("record_id", "problems")]


def read_patient_persons(engine: Engine) -> pa.Table:
    """Every patient as a person record (record_id = patient_id), with MRN and member id."""
    p = domain_table("patients")
    cov = domain_table("coverages")
    member = (
        select(cov.c.patient_id, func.min(cov.c.member_id).label("member_id"))
        .where(
            or_(cov.c.subscriber_relationship == "self", cov.c.subscriber_relationship.is_(None))
        )
        .group_by(cov.c.patient_id)
        .subquery()
    )
    query = select(
        p.c.patient_id.label("record_id"),
        p.c.mrn,
        p.c.first_name,
        p.c.last_name,
        p.c.dob,
        p.c.sex,
        p.c.ssn_hash,
        p.c.ssn_last4,
        p.c.address_line.label("address"),
        p.c.city,
        p.c.state,
        p.c.zip,
        p.c.phone,
        member.c.member_id,
    ).select_from(p.outerjoin(member, member.c.patient_id == p.c.patient_id))
    persons = read_arrow_many(engine, {"patients": query})["patients"]
    # an identity-theft placeholder chart is never a person to link (or merge) with; it is
    # dropped here, not in the query, whose Arrow types come from the first rows it returns
    with engine.connect() as conn:
        placeholders = [str(x) for (x,) in conn.execute(select(identity_placeholders.c.patient_id))]
    if placeholders:
        keep = pc.invert(pc.is_in(persons["record_id"], pa.array(placeholders, pa.string())))
        persons = persons.filter(keep)
    return persons


def write_index(
    engine: Engine,
    persons: pa.Table,
    mrns: Mapping[str, str],
    cluster_of: Mapping[str, str],
    parameters: Parameters,
    *,
    engine_name: str,
    threshold: float = MATCH_THRESHOLD,
) -> int:
    """Replace the stored index with ``persons`` and record the model; its model id."""
    with engine.begin() as conn:
        conn.execute(delete(identity_index))
        batch: list[dict[str, Any]] = []
        for row in persons.select(["record_id", *INDEX_COLUMNS]).to_pylist():
            pid = row.pop("record_id")
            batch.append(
                {**row, "patient_id": pid, "mrn": mrns.get(pid), "cluster_id": cluster_of.get(pid)}
            )
            if len(batch) >= _BATCH:
                conn.execute(insert(identity_index), batch)
                batch = []
        if batch:
            conn.execute(insert(identity_index), batch)
        result = conn.execute(
            insert(identity_models).values(
                trained_at=datetime.now().replace(microsecond=0),
                engine=engine_name,
                records=persons.num_rows,
                threshold=threshold,
                parameters=parameters.as_dict(),
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the store did not return the new model's id")
    if engine.dialect.name == "postgresql":
        # Fresh statistics for the planner: screening looks the index up on every
        # registration, and until autovacuum analyses the reloaded table its plans guess.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE identity_index")
    return int(key[0])


def latest_model(bind: Engine | Connection) -> tuple[Parameters, float] | None:
    """The newest trained parameters and their threshold, or None before any ``link``."""
    with connected(bind) as conn:
        row = conn.execute(
            select(identity_models.c.parameters, identity_models.c.threshold)
            .order_by(identity_models.c.model_id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return Parameters.from_dict(row.parameters), float(row.threshold)


def candidates(
    bind: Engine | Connection, record: Mapping[str, Any], limit: int = 500
) -> list[dict[str, Any]]:
    """Stored patients sharing at least one blocking key with ``record`` (index lookups)."""
    clauses = []
    for cols in BLOCKING:
        values = [record.get(c) for c in cols]
        if all(v is not None for v in values):
            clauses.append(
                and_(*(identity_index.c[c] == v for c, v in zip(cols, values, strict=True)))
            )
    if not clauses:
        return []
    with connected(bind) as conn:
        rows = conn.execute(select(identity_index).where(or_(*clauses)).limit(limit)).mappings()
        return [dict(r) for r in rows]
