"""The event lake: atomic idempotent appends, and identical reads on DuckDB and Spark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from ibis.backends import BaseBackend

from conftest import backend_for
from phiwarden.config import Settings
from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.lake import (
    access_events,
    append_events,
    connect,
    lake_stats,
    list_days,
    list_files,
    open_backend,
    remove_stale_temp_files,
)
from phiwarden.lake.layout import day_dir, part_path, validate_batch_id
from phiwarden.lake.reader import events_schema
from phiwarden.lake.writer import conform_events

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]
DAYS = (date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3))
N_EVENTS = 3000


def make_events(n: int, days: tuple[date, ...] = DAYS, seed: int = 7) -> pa.Table:
    """Synthetic access events over ``days``, with each day's first and last microsecond."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(days[0].isoformat(), "us")
    span = len(days) * 86_400 * 1_000_000
    ts = start + rng.integers(0, span, n).astype("timedelta64[us]")
    for i, day in enumerate(days[: n // 2]):  # exact day edges catch any time-zone shift
        midnight = np.datetime64(day.isoformat(), "us")
        ts[2 * i] = midnight
        ts[2 * i + 1] = midnight + np.timedelta64(86_400 * 1_000_000 - 1, "us")
    btg = rng.random(n) < 0.02
    return pa.table(
        {
            "event_id": [f"ev{i:07d}" for i in range(n)],
            "ts": pa.array(ts, pa.timestamp("us")),
            "user_id": [f"u{k:03d}" for k in rng.integers(0, 20, n)],
            "patient_id": [f"p{k:04d}" for k in rng.integers(0, 400, n)],
            "action": rng.choice(["view", "print", "edit", "export"], n).tolist(),
            "source_system": ["epic"] * n,
            "workstation": [f"ws{k:02d}" for k in rng.integers(0, 30, n)],
            "department_id": [f"d{k}" for k in rng.integers(0, 5, n)],
            "break_the_glass": btg,
            "btg_reason": pa.array(["emergency" if b else None for b in btg], pa.string()),
        }
    )


def counts(table: pa.Table, key: str) -> dict[object, int]:
    """{value: rows} of one column of an Arrow table."""
    return {row["values"]: row["counts"] for row in pc.value_counts(table.column(key)).to_pylist()}


@pytest.fixture(scope="module")
def events() -> pa.Table:
    return conform_events(make_events(N_EVENTS))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, events: pa.Table) -> Path:
    """A lake with two batches (so two files per day) over three days."""
    root = tmp_path_factory.mktemp("lake")
    append_events(root, events.slice(0, 2000), "batch-a")
    append_events(root, events.slice(2000), "batch-b")
    return root


@pytest.fixture(scope="module", params=ENGINES)
def con(request: pytest.FixtureRequest, backends: dict[str, BaseBackend]) -> BaseBackend:
    return backend_for(request.param, backends)


# --- reading, on every engine ---------------------------------------------------------


def test_schema_is_canonical(con: BaseBackend, lake: Path) -> None:
    table = access_events(con, lake)
    assert table.schema() == events_schema()
    assert con.to_pyarrow(table.limit(1)).schema == ACCESS_EVENTS.schema


def test_count_and_rows_round_trip_exactly(con: BaseBackend, lake: Path, events: pa.Table) -> None:
    table = access_events(con, lake)
    assert con.to_pyarrow(table.count()).as_py() == N_EVENTS
    got = con.to_pyarrow(table).sort_by("event_id")
    assert got.equals(events.sort_by("event_id"))  # timestamps to the microsecond


def test_count_per_day(con: BaseBackend, lake: Path, events: pa.Table) -> None:
    table = access_events(con, lake)
    per_day = con.to_pyarrow(table.group_by(day=table.ts.date()).agg(n=table.count()))
    expected = counts(events.append_column("day", pc.cast(events["ts"], pa.date32())), "day")
    assert dict(zip(per_day["day"].to_pylist(), per_day["n"].to_pylist(), strict=True)) == expected


def test_count_per_user(con: BaseBackend, lake: Path, events: pa.Table) -> None:
    table = access_events(con, lake)
    per_user = con.to_pyarrow(table.group_by("user_id").agg(n=table.count()))
    got = dict(zip(per_user["user_id"].to_pylist(), per_user["n"].to_pylist(), strict=True))
    assert got == counts(events, "user_id")


def test_min_max_ts(con: BaseBackend, lake: Path) -> None:
    table = access_events(con, lake)
    span = con.to_pyarrow(table.aggregate(lo=table.ts.min(), hi=table.ts.max())).to_pylist()[0]
    assert span["lo"] == datetime(2024, 3, 1)
    assert span["hi"] == datetime(2024, 3, 3, 23, 59, 59, 999999)


@pytest.mark.parametrize(
    ("since", "until"),
    [(DAYS[1], None), (None, DAYS[0]), (DAYS[1], DAYS[1]), (DAYS[0], DAYS[2])],
)
def test_window_reads_only_its_days(
    con: BaseBackend, lake: Path, events: pa.Table, since: date | None, until: date | None
) -> None:
    day = pc.cast(events["ts"], pa.date32())
    keep = pc.and_(
        pc.greater_equal(day, pa.scalar(since or date.min)),
        pc.less_equal(day, pa.scalar(until or date.max)),
    )
    table = access_events(con, lake, since=since, until=until)
    assert con.to_pyarrow(table.count()).as_py() == pc.sum(keep).as_py()


def test_timestamp_literal_filter_is_not_shifted(
    con: BaseBackend, lake: Path, events: pa.Table
) -> None:
    cut = datetime(2024, 3, 2, 13, 30, 0, 250)
    table = access_events(con, lake)
    got = con.to_pyarrow(table.filter(table.ts >= cut).count()).as_py()
    assert got == pc.sum(pc.greater_equal(events["ts"], pa.scalar(cut, pa.timestamp("us")))).as_py()


@pytest.mark.parametrize("window", [{}, {"since": date(2030, 1, 1)}])
def test_empty_lake_or_window_gives_empty_table(
    con: BaseBackend, tmp_path: Path, lake: Path, window: dict[str, date]
) -> None:
    table = access_events(con, lake if window else tmp_path / "no-lake", **window)
    assert table.schema() == events_schema()
    assert con.to_pyarrow(table.count()).as_py() == 0
    assert con.to_pyarrow(table).schema == ACCESS_EVENTS.schema


def test_reversed_window_is_an_error(con: BaseBackend, lake: Path) -> None:
    with pytest.raises(ValueError, match="swap them"):
        access_events(con, lake, since=DAYS[2], until=DAYS[0])


def test_lake_path_with_glob_characters(con: BaseBackend, tmp_path: Path) -> None:
    lake = tmp_path / "we[ir]d {lake}*?"
    append_events(lake, make_events(50), "b1")
    assert con.to_pyarrow(access_events(con, lake).count()).as_py() == 50


@pytest.mark.spark
def test_same_answer_on_both_engines(backends: dict[str, BaseBackend], lake: Path) -> None:
    answers = []
    for engine in ("duckdb", "spark"):
        con = backend_for(engine, backends)
        t = access_events(con, lake, since=DAYS[1])
        agg = t.group_by(day=t.ts.date(), user_id=t.user_id).agg(
            n=t.count(),
            patients=t.patient_id.nunique(),
            btg=t.break_the_glass.sum(),
            first=t.ts.min(),
        )
        order = [("day", "ascending"), ("user_id", "ascending")]
        answers.append(con.to_pyarrow(agg).sort_by(order))
    duck, spark = answers
    assert duck.num_rows > 0
    assert duck.to_pylist() == spark.to_pylist()


# --- writing --------------------------------------------------------------------------


def test_layout_and_file_format(lake: Path, events: pa.Table) -> None:
    assert list_days(lake) == list(DAYS)
    files = list_files(lake)
    assert [f.name for f in files] == ["part-batch-a.parquet", "part-batch-b.parquet"] * 3
    meta = pq.read_metadata(files[0])
    assert meta.row_group(0).column(1).compression == "ZSTD"
    for path in files:
        ts = pq.read_table(path).column("ts")
        assert pc.all(
            pc.equal(
                pc.cast(ts, pa.date32()),
                pa.scalar(date.fromisoformat(path.parent.name.removeprefix("day="))),
            )
        ).as_py()
        assert ts.to_pylist() == sorted(ts.to_pylist())
    assert lake_stats(lake) == {
        "days": 3,
        "files": 6,
        "rows": N_EVENTS,
        "bytes": sum(f.stat().st_size for f in files),
        "first_day": "2024-03-01",
        "last_day": "2024-03-03",
    }


def test_listing_skips_hidden_and_foreign_entries(tmp_path: Path) -> None:
    append_events(tmp_path, make_events(20, days=DAYS[:1]), "b1")
    folder = day_dir(tmp_path, DAYS[0])
    for name in ("_SUCCESS", ".part-x.parquet.1.ab.tmp", "notes.txt", "_part-y.parquet"):
        (folder / name).write_bytes(b"")
    (folder.parent / "day=not-a-date").mkdir()
    (folder.parent / "day=2024-02-30").mkdir()
    (folder.parent / "elsewhere").mkdir()
    assert list_days(tmp_path) == [DAYS[0]]
    assert [f.name for f in list_files(tmp_path)] == ["part-b1.parquet"]


def test_same_batch_twice_adds_nothing(tmp_path: Path) -> None:
    data = make_events(500, seed=1)
    first = append_events(tmp_path, data, "abc123")
    again = append_events(tmp_path, data, "abc123")
    assert first.rows_written == 500 and first.days_written == DAYS
    assert again.already_present and again.rows_written == 0 and again.rows_skipped == 500
    assert again.days_skipped == DAYS
    assert lake_stats(tmp_path)["rows"] == 500


def test_days_split_at_midnight_even_before_1970(tmp_path: Path) -> None:
    stamps = [datetime(1969, 12, 31, 23, 59, 59, 999999), datetime(1970, 1, 1)]
    data = make_events(2).set_column(1, "ts", pa.array(stamps, pa.timestamp("us")))
    result = append_events(tmp_path, data, "epoch")
    assert result.days_written == (date(1969, 12, 31), date(1970, 1, 1))


def test_empty_table_writes_nothing(tmp_path: Path) -> None:
    result = append_events(tmp_path, make_events(0), "empty")
    assert result.rows_written == 0 and not result.files_written
    assert lake_stats(tmp_path)["files"] == 0


@pytest.mark.parametrize("bad", ["", "../escape", "a b", "x.y", "day=1/part", "é", "a" * 129])
def test_batch_id_is_sanitised(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="batch_id"):
        append_events(tmp_path, make_events(10), bad)
    assert not (tmp_path / "access_events").exists()
    assert validate_batch_id("sha256_0f-A9") == "sha256_0f-A9"


@pytest.mark.parametrize("column", ["user_id", "ts", "event_id"])
def test_missing_required_column_is_named(tmp_path: Path, column: str) -> None:
    data = make_events(10).drop_columns([column])
    with pytest.raises(ValueError, match=rf"missing required column.*'{column}'"):
        append_events(tmp_path, data, "b1")


def test_bad_input_is_rejected_with_the_column_named(tmp_path: Path) -> None:
    data = make_events(10)
    bad_ts = data.set_column(1, "ts", pa.array(["not a time"] * 10))
    with pytest.raises(ValueError, match="'ts' cannot be converted"):
        append_events(tmp_path, bad_ts, "b1")
    zoned = data.set_column(1, "ts", data["ts"].cast(pa.timestamp("us", tz="UTC")))
    with pytest.raises(ValueError, match="'ts' has time zone"):
        append_events(tmp_path, zoned, "b1")
    with pytest.raises(ValueError, match=r"unexpected column.*'colour'"):
        append_events(tmp_path, data.append_column("colour", pa.array(["x"] * 10)), "b1")
    nulls = data.set_column(3, "patient_id", pa.nulls(10, pa.string()))
    with pytest.raises(ValueError, match="'patient_id' has 10 null"):
        append_events(tmp_path, nulls, "b1")
    assert not (tmp_path / "access_events").exists()


def test_optional_columns_and_loose_types_are_conformed(tmp_path: Path) -> None:
    data = make_events(20).select(["event_id", "ts", "user_id", "patient_id", "action"])
    data = data.set_column(1, "ts", data["ts"].cast(pa.timestamp("ns")))
    data = data.set_column(2, "user_id", pa.array(range(20), pa.int64()))
    append_events(tmp_path, data, "loose")
    stored = pq.read_table(list_files(tmp_path)[0])
    assert stored.schema == ACCESS_EVENTS.schema
    assert stored["btg_reason"].null_count == stored.num_rows


def test_stale_temp_files_are_removed_but_young_ones_kept(tmp_path: Path) -> None:
    append_events(tmp_path, make_events(30), "first")
    folder = day_dir(tmp_path, DAYS[0])
    old = folder / ".part-crashed.parquet.123.abcd.tmp"
    young = folder / ".part-running.parquet.456.ef01.tmp"
    for path in (old, young):
        path.write_bytes(b"PAR1 half")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert all(not p.name.startswith(".") for p in list_files(tmp_path))
    result = append_events(tmp_path, make_events(30, seed=2), "second")
    assert result.removed_temp_files == (old,)
    assert not old.exists() and young.exists()
    assert remove_stale_temp_files(tmp_path, timedelta(0)) == [young]


CRASHING_WRITER = """
import sys, time
from pathlib import Path
import pyarrow.parquet as pq
from phiwarden.lake import writer

lake, source, marker = (Path(a) for a in sys.argv[1:4])
real_write = pq.write_table
writer.WRITE_THREADS = 3  # all three days at once, even on a one-core machine

def write_day2_halfway(table, where, **options):
    # Days 1 and 3 complete; day 2 stays half-written, as if the process died mid-write.
    real_write(table, where, **options)
    if "day=2024-03-02" not in str(where):
        return
    others = [Path(where).parent.parent / d / "part-crash-batch.parquet"
              for d in ("day=2024-03-01", "day=2024-03-03")]
    deadline = time.monotonic() + 30
    while not all(p.exists() for p in others) and time.monotonic() < deadline:
        time.sleep(0.01)
    size = Path(where).stat().st_size
    with open(where, "r+b") as handle:
        handle.truncate(size // 2)
    marker.write_text(str(where))
    time.sleep(120)

pq.write_table = write_day2_halfway
writer.append_events(lake, pq.read_table(source), "crash-batch")
"""


def test_killed_writer_leaves_only_complete_files(tmp_path: Path, events: pa.Table) -> None:
    lake, source, marker = tmp_path / "lake", tmp_path / "events.parquet", tmp_path / "marker"
    pq.write_table(events, source)
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(lake), str(source), str(marker)]
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the writer exited before it reached day 2"
            assert time.monotonic() < deadline, "the writer never reached day 2"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()

    half = Path(marker.read_text())
    assert half.name.startswith(".part-crash-batch") and half.exists()
    assert not part_path(lake, DAYS[1], "crash-batch").exists()
    visible = list_files(lake)
    assert [f.parent.name for f in visible] == ["day=2024-03-01", "day=2024-03-03"]
    complete = sum(pq.read_table(f).num_rows for f in visible)  # readable to the footer
    day2 = pc.sum(pc.equal(pc.cast(events["ts"], pa.date32()), pa.scalar(DAYS[1]))).as_py()
    assert complete == N_EVENTS - day2
    with open_backend("duckdb") as duck:
        assert duck.to_pyarrow(access_events(duck, lake).count()).as_py() == complete

    rerun = append_events(lake, events, "crash-batch", stale_after=timedelta(0))
    assert rerun.days_skipped == (DAYS[0], DAYS[2]) and rerun.days_written == (DAYS[1],)
    assert rerun.removed_temp_files == (half,)
    with open_backend("duckdb") as duck:
        table = access_events(duck, lake)
        stats = duck.to_pyarrow(table.aggregate(n=table.count(), ids=table.event_id.nunique()))
    assert stats.to_pylist() == [{"n": N_EVENTS, "ids": N_EVENTS}]


# --- engines --------------------------------------------------------------------------


def test_unknown_engine_is_named() -> None:
    with pytest.raises(ValueError, match="unknown engine 'oracle'"):
        connect("oracle")


def test_connect_from_settings_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", key_file=tmp_path / "k")
    monkeypatch.setenv("PHIWARDEN_DUCKDB_THREADS", "1")
    with open_backend(settings) as con:
        assert con.name == "duckdb"
        assert con.raw_sql("SELECT current_setting('threads')").fetchone() == (1,)
    monkeypatch.setenv("PHIWARDEN_DUCKDB_THREADS", "many")
    with pytest.raises(ValueError, match="PHIWARDEN_DUCKDB_THREADS"):
        connect("duckdb")


def test_missing_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(ImportError, match=r"pip install 'phiwarden\[spark\]'"):
        connect("spark")


def test_spark_connect_without_its_client_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("pyspark")
    # as if the Connect client (grpc) were not installed, whether or not it is here
    monkeypatch.setitem(sys.modules, "grpc", None)
    with pytest.raises(ImportError, match=r"pyspark\[connect\]"):
        connect("spark", spark_master="sc://localhost:15002")
