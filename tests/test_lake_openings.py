"""The lake's daily openings: built at ingest, used only while fresh, equal to grouping."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from conftest import backend_for
from phiwarden.lake import append_events
from phiwarden.lake.layout import day_dir
from phiwarden.lake.openings import (
    SCHEMA,
    fresh_rollup,
    openings_root,
    refresh_openings,
    split_window,
)
from phiwarden.lake.reader import access_events, access_openings, openings_of, openings_schema
from phiwarden.lake.writer import conform_events
from test_lake import DAYS, make_events

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]
ORDER = [(c, "ascending") for c in ("user_id", "patient_id", "hour")]


@pytest.fixture(params=ENGINES)
def con(request: pytest.FixtureRequest, backends: dict[str, BaseBackend]) -> BaseBackend:
    return backend_for(request.param, backends)


COLUMNS = [c for c in SCHEMA.names if c != "oid"]


def grouped(con: BaseBackend, lake: Path, **window: date) -> list[dict[str, object]]:
    """The engine's own grouping of the events: what every rollup must equal."""
    schema = openings_schema()
    table = openings_of(access_events(con, lake, **window))
    table = table.cast({c: schema[c] for c in COLUMNS})
    return con.to_pyarrow(table).sort_by(ORDER).to_pylist()


def read(con: BaseBackend, lake: Path, **window: date) -> list[dict[str, object]]:
    """The openings as a run reads them, without their numbers (checked unique here)."""
    table = con.to_pyarrow(access_openings(con, lake, **window))
    oid = table.column("oid")
    assert oid.null_count == 0 and len(pc.unique(oid)) == table.num_rows
    return table.select(COLUMNS).sort_by(ORDER).to_pylist()


def lake_with(tmp_path: Path, *batches: pa.Table) -> Path:
    lake = tmp_path / "lake"
    for i, batch in enumerate(batches):
        append_events(lake, batch, f"batch-{i}")
    return lake


def test_a_rollup_equals_the_engines_grouping(con: BaseBackend, tmp_path: Path) -> None:
    events = conform_events(make_events(3000))
    # a break-the-glass left empty counts as not broken, as in the engine
    btg = events.column("break_the_glass").to_pylist()
    events = events.set_column(
        events.schema.get_field_index("break_the_glass"),
        "break_the_glass",
        pa.array([None if i % 7 == 0 else b for i, b in enumerate(btg)], pa.bool_()),
    )
    lake = lake_with(tmp_path, events)
    assert refresh_openings(lake) == list(DAYS)
    rollups, raw = split_window(lake)
    assert len(rollups) == 3 and raw == []
    rows = read(con, lake)
    assert rows == grouped(con, lake)
    assert sum(r["accesses"] for r in rows) == 3000  # type: ignore[misc]
    assert any(r["btg"] for r in rows) and len(rows) < 3000


def test_a_day_changed_after_its_rollup_is_grouped_until_rebuilt(
    con: BaseBackend, tmp_path: Path
) -> None:
    events = conform_events(make_events(2000))
    lake = lake_with(tmp_path, events.slice(0, 1500))
    refresh_openings(lake)
    old = fresh_rollup(lake, DAYS[1])
    assert old is not None
    # a later append to the second day only: that day's rollup is stale, the others fresh
    rest = events.slice(1500)
    later = rest.filter(pc.equal(pc.cast(rest.column("ts"), pa.date32()), DAYS[1]))
    append_events(lake, later, "late")
    assert fresh_rollup(lake, DAYS[1]) is None
    rollups, raw = split_window(lake)
    assert len(rollups) == 2 and {p.parent.name for p in raw} == {"day=2024-03-02"}
    assert read(con, lake) == grouped(con, lake)
    assert read(con, lake, since=DAYS[1], until=DAYS[1]) == grouped(
        con, lake, since=DAYS[1], until=DAYS[1]
    )
    # rebuilding makes it fresh again and removes the stale file
    assert refresh_openings(lake) == [DAYS[1]]
    assert not old.exists() and fresh_rollup(lake, DAYS[1]) is not None
    assert len(list(old.parent.iterdir())) == 1
    assert read(con, lake) == grouped(con, lake)


def test_no_rollup_and_an_empty_lake_read_as_grouping(con: BaseBackend, tmp_path: Path) -> None:
    lake = lake_with(tmp_path, conform_events(make_events(500)))
    assert read(con, lake) == grouped(con, lake)  # nothing built: all grouped
    assert read(con, tmp_path / "empty") == []
    assert access_openings(con, tmp_path / "empty").schema() == openings_schema()


def test_a_day_holding_another_days_event_gets_no_rollup(tmp_path: Path) -> None:
    lake = lake_with(tmp_path, conform_events(make_events(300, days=(DAYS[0],))))
    stray = conform_events(make_events(10, days=(DAYS[0],)))
    ts = [datetime.combine(DAYS[1], datetime.min.time()) + timedelta(hours=1)] * 10
    stray = stray.set_column(1, "ts", pa.array(ts, pa.timestamp("us")))
    ids = pa.array([f"stray{i}" for i in range(10)])
    pq.write_table(stray.set_column(0, "event_id", ids), day_dir(lake, DAYS[0]) / "part-x.parquet")
    assert refresh_openings(lake) == []
    assert fresh_rollup(lake, DAYS[0]) is None


def test_the_rollup_is_the_documented_schema(tmp_path: Path) -> None:
    lake = lake_with(tmp_path, conform_events(make_events(200)))
    refresh_openings(lake)
    files = sorted(openings_root(lake).rglob("*.parquet"))
    assert len(files) == 3 and all(f.name.startswith("openings-v1-") for f in files)
    assert pq.read_schema(files[0]).remove_metadata() == SCHEMA


def test_ingest_builds_the_openings_of_the_days_it_wrote(
    small_hospital: Path, tmp_path: Path
) -> None:
    from phiwarden.config import load_settings
    from phiwarden.ingest.run import run_ingest
    from phiwarden.lake.layout import list_days
    from phiwarden.monitor import run_monitor
    from phiwarden.store.setup import initialise

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    lake = stores.settings.lake_dir
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=lake,
    )
    days = list_days(lake)
    assert days and all(fresh_rollup(lake, d) is not None for d in days)
    with_rollups = run_monitor(stores, save=False)
    shutil.rmtree(openings_root(lake))
    without = run_monitor(stores, save=False)
    assert with_rollups.alerts and [
        (a.user_id, a.score, a.patient_ids) for a in with_rollups.alerts
    ] == [(a.user_id, a.score, a.patient_ids) for a in without.alerts]
    assert with_rollups.stats == without.stats


def test_the_tick_builds_the_last_weeks_openings(stores: object, tmp_path: Path) -> None:
    from phiwarden.store.setup import Stores
    from phiwarden.tick import tick_all

    assert isinstance(stores, Stores)
    lake = stores.settings.lake_dir
    append_events(lake, conform_events(make_events(300)), "receiver")
    # the tick acts as if it were two days after the last day: the last week's whole days
    result = tick_all(stores, datetime.combine(DAYS[-1] + timedelta(days=2), datetime.min.time()))
    assert result["openings_built"] == 3
    assert all(fresh_rollup(lake, d) is not None for d in DAYS)
    again = tick_all(stores, datetime.combine(DAYS[-1] + timedelta(days=2), datetime.min.time()))
    assert again["openings_built"] == 0


def test_the_rollup_command_builds_what_is_missing(stores: object) -> None:
    from conftest import run_cli
    from phiwarden.store.setup import Stores

    assert isinstance(stores, Stores)
    lake = stores.settings.lake_dir
    append_events(lake, conform_events(make_events(300)), "receiver")
    done = run_cli(stores, "monitor", "rollup", "--since", DAYS[1].isoformat())
    assert done.returncode == 0, done.stderr
    assert "built the openings of 2 day(s); 0 were fresh" in done.stdout
    assert fresh_rollup(lake, DAYS[0]) is None and fresh_rollup(lake, DAYS[2]) is not None
    again = run_cli(stores, "monitor", "rollup")
    assert "built the openings of 1 day(s); 2 were fresh" in again.stdout
    none = run_cli(stores, "monitor", "rollup", "--since", "2099-01-01")
    assert none.returncode == 0 and "holds no days from 2099-01-01 to (end)" in none.stdout
