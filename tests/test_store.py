"""The operational store on SQLite and PostgreSQL: migrations, idempotent inserts, SSNs."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import inspect, select

from phiwarden.domain.canonical import OPERATIONAL_TABLES
from phiwarden.store import repositories as repo
from phiwarden.store.migrate import upgrade
from phiwarden.store.schema import DOMAIN_TABLES
from phiwarden.store.setup import Stores


def test_migration_creates_every_domain_table(stores: Stores) -> None:
    names = set(inspect(stores.engine).get_table_names())
    assert {t.name for t in OPERATIONAL_TABLES} <= names
    assert {"quarantine", "ingest_runs", "alembic_version"} <= names
    cols = {c["name"] for c in inspect(stores.engine).get_columns("patients")}
    assert {"ssn_encrypted", "ssn_hash", "ssn_last4"} <= cols
    assert "ssn" not in cols
    upgrade(stores.engine)  # running it again is harmless


def _facility_and_patient(stores: Stores) -> None:
    with stores.engine.begin() as conn:
        repo.insert_rows(
            conn,
            DOMAIN_TABLES["facilities"],
            [{"facility_id": "F1", "name": "General", "city": "St. Louis", "state": "MO"}],
        )
        row = {
            "patient_id": "P1",
            "mrn": "M0001",
            "first_name": "Ann",
            "last_name": "Lee",
            "dob": dt.date(1980, 2, 3),
            "ssn": "123-45-6789",
            "vip": False,
        }
        repo.protect_sensitive(row, ["ssn"], stores.protector)
        repo.insert_rows(conn, DOMAIN_TABLES["patients"], [row])


def test_insert_is_idempotent_and_counts_duplicates(stores: Stores) -> None:
    _facility_and_patient(stores)
    rows = [
        {"facility_id": "F1", "name": "General", "city": "St. Louis", "state": "MO"},
        {"facility_id": "F2", "name": "North", "city": "Dallas", "state": "TX"},
    ]
    with stores.engine.begin() as conn:
        result = repo.insert_rows(conn, DOMAIN_TABLES["facilities"], rows)
    assert (result.inserted, result.duplicates) == (1, 1)
    with stores.engine.connect() as conn:
        assert repo.table_counts(conn)["facilities"] == 2


def test_ssn_is_stored_encrypted_and_found_by_keyed_hash(stores: Stores) -> None:
    _facility_and_patient(stores)
    with stores.engine.connect() as conn:
        patient = repo.get_patient_by_mrn(conn, "M0001")
        assert patient is not None
        assert patient["ssn_last4"] == "6789"
        assert b"123-45-6789" not in patient["ssn_encrypted"]
        assert stores.protector.decrypt(patient["ssn_encrypted"]) == "123-45-6789"
        found = repo.patients_with_ssn(conn, stores.protector, "123456789")
        assert [p["patient_id"] for p in found] == ["P1"]
        assert repo.patients_with_ssn(conn, stores.protector, "987-65-4321") == []
        raw = conn.execute(select(DOMAIN_TABLES["patients"].c.ssn_hash)).scalar_one()
        # keyed: not the SSN, and not a plain hash anyone could compute from a guessed SSN
        # (any four digits may appear in 64 hex characters by chance: ~0.1% of keys)
        assert "123456789" not in raw and len(raw) == 64
        assert raw not in {hashlib.sha256(s).hexdigest() for s in (b"123456789", b"123-45-6789")}


def test_quarantine_keeps_raw_encrypted_and_once(stores: Stores) -> None:
    with stores.engine.begin() as conn:
        for _ in range(2):
            repo.add_quarantine(
                conn,
                stores.protector,
                source="a.csv",
                location="line 3",
                record_type="patients",
                reason="dob: cannot read as date",
                raw='{"ssn": "123-45-6789"}',
            )
    with stores.engine.connect() as conn:
        rows = repo.list_quarantine(conn)
    assert len(rows) == 1
    assert rows[0]["location"] == "line 3" and "raw_encrypted" not in rows[0]


def test_foreign_keys_are_enforced(stores: Stores) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), stores.engine.begin() as conn:
        repo.insert_rows(
            conn,
            DOMAIN_TABLES["encounters"],
            [{"encounter_id": "E1", "patient_id": "NOPE", "start": dt.datetime(2026, 1, 5, 8)}],
        )


def test_arrow_reads_type_a_column_empty_in_its_first_rows_from_the_rest(tmp_path: Path) -> None:
    """The SQLite driver types a column from the first batch: an optional text field that
    is empty for the first 70,000 rows is still read as text (the medium hospital's X12
    AAA codes once failed the red-flag scan with "expected INT64")."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

    from phiwarden.store.arrow_read import read_arrow_many
    from phiwarden.store.sqlite_child import BATCH_ROWS

    engine = create_engine(f"sqlite:///{tmp_path / 'sparse.db'}")
    meta = MetaData()
    sparse = Table("sparse", meta, Column("id", Integer, primary_key=True), Column("code", String))
    meta.create_all(engine)
    rows = [{"id": i, "code": None} for i in range(BATCH_ROWS + 5000)] + [{"id": -1, "code": "75"}]
    with engine.begin() as conn:
        conn.execute(insert(sparse), rows)
    got = read_arrow_many(
        engine, {"s": select(sparse.c.id, sparse.c.code).order_by(sparse.c.id.desc())}
    )
    table = got["s"]
    assert table.num_rows == len(rows)
    assert table.column("code").drop_null().to_pylist() == ["75"]


def test_arrow_reads_share_queries_among_readers_and_finish_each_table(tmp_path: Path) -> None:
    """Queries are handed to the reader processes one at a time; every result comes back
    under its own name, in the order asked, with ``finish`` applied to it; a query SQLite
    rejects fails the read with SQLite's reason, not with a short answer."""
    import pyarrow as pa
    import pytest
    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

    from phiwarden.store.arrow_read import read_arrow_many

    engine = create_engine(f"sqlite:///{tmp_path / 'many.db'}")
    meta = MetaData()
    numbers = Table("numbers", meta, Column("n", Integer, primary_key=True))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(numbers), [{"n": i} for i in range(1000)])
    queries = {
        f"below_{k}": select(numbers.c.n).where(numbers.c.n < k) for k in (900, 5, 70, 1, 300)
    }
    finished: list[str] = []

    def finish(name: str, table: pa.Table) -> pa.Table:
        finished.append(name)
        return table.append_column("name", pa.array([name] * table.num_rows, pa.string()))

    got = read_arrow_many(engine, queries, finish)
    assert list(got) == list(queries)
    assert sorted(finished) == sorted(queries)
    for name, table in got.items():
        assert table.num_rows == int(name.split("_")[1])
        assert set(table.column("name").to_pylist()) <= {name}
    broken = {"fine": select(numbers.c.n), "broken": select(text("n FROM no_such_table"))}
    with pytest.raises(RuntimeError, match="no_such_table"):
        read_arrow_many(engine, broken)
