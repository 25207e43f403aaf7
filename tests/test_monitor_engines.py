"""The monitor on every backend: SQLite and PostgreSQL stores, DuckDB and Spark engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from phiwarden.ingest.run import run_ingest
from phiwarden.lake.engine import open_backend
from phiwarden.monitor import population, run_monitor
from phiwarden.monitor import queue as review_queue
from phiwarden.monitor.run import MonitorResult
from phiwarden.store.setup import Stores


@pytest.fixture
def hospital_stores(stores: Stores, small_hospital: Path) -> Stores:
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return stores


def summary(result: MonitorResult) -> list[tuple[Any, ...]]:
    return sorted(
        (a.user_id, round(a.score, 2), tuple(r["code"] for r in a.reasons), tuple(a.patient_ids))
        for a in result.alerts
    )


def test_monitor_stores_alerts_on_each_database(hospital_stores: Stores) -> None:
    result = run_monitor(hospital_stores)
    lake = ds.dataset(hospital_stores.settings.lake_dir / "access_events").count_rows()
    assert result.stats["accesses"] == lake
    assert result.alerts, "the small hospital's snoopers raise alerts"
    with hospital_stores.engine.connect() as conn:
        stored = review_queue.list_alerts(conn, limit=10_000)
        assert {a["user_id"] for a in stored} == {a.user_id for a in result.alerts}
        first = review_queue.get_alert(conn, result.alert_ids[0])
    assert first is not None and first["reasons"] and first["patient_ids"]
    assert first["case_id"]


@pytest.mark.spark
def test_same_alerts_on_duckdb_and_spark(small_hospital: Path, tmp_path: Path) -> None:
    from phiwarden.config import load_settings
    from phiwarden.store.setup import initialise

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    duck = run_monitor(stores, engine="duckdb", save=False)
    with open_backend("spark") as con:
        spark = run_monitor(stores, con=con, save=False)
        user = duck.alerts[0].user_id
        window = duck.window
        assert window is not None
        on_spark = population(stores, user, window.since, window.until, con=con)
    assert duck.alerts and summary(spark) == summary(duck)
    assert spark.stats["by_template"] == duck.stats["by_template"]
    on_duck = population(stores, user, window.since, window.until)
    assert [r["patient_id"] for r in on_spark] == [r["patient_id"] for r in on_duck]
