"""Access outcomes: success or failure from every reader, old lakes without the column, and
the failed-access signal."""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canonical_fixture import build_canonical
from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.formats import outcome
from phiwarden.ingest import access_log, canonical
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.reader import access_events
from phiwarden.monitor import run_monitor
from phiwarden.monitor.config import MonitorConfig
from phiwarden.store.setup import Stores


def test_codes_and_words_normalise() -> None:
    values = pa.array(["0", "4", " 8 ", "12", "Success", "DENIED", "f", "maybe", None])
    assert outcome.normalise(values).to_pylist() == [
        "success",
        "failure",
        "failure",
        "failure",
        "success",
        "failure",
        "failure",
        None,
        None,
    ]
    assert outcome.of_code("12") == "failure" and outcome.of_code(None) is None


def test_a_lake_written_before_the_column_existed_still_reads(tmp_path: Path) -> None:
    old = ACCESS_EVENTS.schema.remove(ACCESS_EVENTS.schema.get_field_index("outcome"))
    row = {"event_id": "E1", "user_id": "U1", "patient_id": "P1", "action": "view"}
    day = tmp_path / "access_events" / "day=2026-01-05"
    day.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist([{**row, "ts": pa.scalar(0, pa.timestamp("us")).as_py()}], old),
        day / "part-0.parquet",
    )
    new = tmp_path / "access_events" / "day=2026-01-06"
    new.mkdir()
    pq.write_table(
        pa.Table.from_pylist(
            [{**row, "event_id": "E2", "ts": None, "outcome": "failure"}], ACCESS_EVENTS.schema
        ),
        new / "part-0.parquet",
    )
    got = access_events(ibis.duckdb.connect(), tmp_path).order_by("event_id").to_pyarrow()
    assert got.column("outcome").to_pylist() == [None, "failure"]


OUTCOME_MAPPING = """
name = "audit-with-outcome"
[columns]
ts = "When"
user = "Who"
patient = "Patient"
action = "What"
outcome = "Result"
[user]
match = ["user_id"]
[patient]
match = ["patient_id"]
[outcome]
failure_values = ["Zugriff verweigert"]
"""


def test_access_log_outcome_column_maps_failures(stores: Stores, tmp_path: Path) -> None:
    hospital = build_canonical(tmp_path)
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    for name in ("facilities", "departments", "workforce", "patients"):
        canonical.load_file(loader, hospital / f"{name}.csv")
    mapping = tmp_path / "m.toml"
    mapping.write_text(OUTCOME_MAPPING, encoding="utf-8")
    export = tmp_path / "log.csv"
    export.write_text(
        "When,Who,Patient,What,Result\n"
        "2026-01-05 08:00:00,U1,P00001,view,Success\n"
        "2026-01-05 08:01:00,U1,P00001,view,Zugriff verweigert\n"
        "2026-01-05 08:02:00,U1,P00001,view,DENIED\n"
        "2026-01-05 08:03:00,U1,P00001,view,\n",
        encoding="utf-8",
    )
    access_log.load_with_mapping(loader, export, mapping)
    got = access_events(ibis.duckdb.connect(), stores.settings.lake_dir).order_by("ts")
    assert got.to_pyarrow().column("outcome").to_pylist() == [
        "success",
        "failure",
        "failure",
        None,
    ]


@pytest.fixture
def fixture_store(stores: Stores, tmp_path: Path) -> Stores:
    run_ingest(
        [build_canonical(tmp_path)],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return stores


def test_failed_attempts_at_unexplained_patients_are_a_signal(fixture_store: Stores) -> None:
    """The fixture hospital denies one access in 53; repeated denials raise the reason."""
    events = access_events(ibis.duckdb.connect(), fixture_store.settings.lake_dir)
    failed = events.filter(events.outcome == "failure").to_pyarrow()
    assert failed.num_rows > 0
    quiet = run_monitor(fixture_store, save=False, config=MonitorConfig(failed_min_attempts=10**6))
    assert not any(r["code"] == "failed_access" for a in quiet.alerts for r in a.reasons)
    eager = run_monitor(fixture_store, save=False, config=MonitorConfig(failed_min_attempts=1))
    reasons = [r for a in eager.alerts for r in a.reasons if r["code"] == "failed_access"]
    assert reasons, "a user with denied attempts at unexplained patients must be flagged"
    tried = set(zip(failed["user_id"].to_pylist(), failed["patient_id"].to_pylist(), strict=True))
    for alert in eager.alerts:
        for reason in alert.reasons:
            if reason["code"] == "failed_access":
                assert all((alert.user_id, p) in tried for p in reason["patient_ids"])
                assert "failed attempt" in reason["evidence"][0]["detail"]
