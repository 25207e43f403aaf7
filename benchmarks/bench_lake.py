"""Benchmark the event lake: append throughput, then scans on DuckDB (and Spark).

    .venv/bin/python benchmarks/bench_lake.py [--rows 10000000] [--days 30] [--spark]

Writes synthetic access events to a temporary lake with ``append_events`` in batches and
reports rows/s; then, each engine in a child process of its own (so peak memory is that
engine's alone, JVM included), times a full count, a count per user and a one-week
window. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from measure import PeakRss
from phiwarden.lake import access_events, append_events, connect, lake_stats, stop

START = date(2024, 1, 1)
USERS = 5_000
PATIENTS = 200_000
ACTIONS = ["view", "view", "view", "edit", "print", "export"]


@contextmanager
def timed(label: str, figures: dict[str, Any]) -> Iterator[None]:
    """Record the wall seconds of the block under ``label``."""
    start = time.perf_counter()
    yield
    figures[label] = round(time.perf_counter() - start, 3)


def make_batch(
    first: int, rows: int, total: int, days: int, rng: np.random.Generator, *, ordered: bool = True
) -> pa.Table:
    """Rows ``first..first+rows`` of ``total`` events spread evenly over ``days`` days.

    Audit exports usually come in time order; ``ordered=False`` makes the writer sort.
    """
    span = days * 86_400 * 1_000_000
    lo, hi = first * span // total, (first + rows) * span // total
    micros = rng.integers(lo, max(hi, lo + 1), rows)
    if ordered:
        micros.sort()
    ts = np.datetime64(START.isoformat(), "us") + micros.astype("timedelta64[us]")
    ids = pc.cast(pa.array(np.arange(first, first + rows)), pa.string())

    def coded(prefix: str, count: int) -> pa.Array:
        labels = pa.array([f"{prefix}{i:06d}" for i in range(count)])
        return pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, count, rows).astype(np.int32)), labels
        ).cast(pa.string())

    btg = pa.array(rng.random(rows) < 0.01)
    return pa.table(
        {
            "event_id": pc.binary_join_element_wise("ev", ids, ""),
            "ts": pa.array(ts, pa.timestamp("us")),
            "user_id": coded("u", USERS),
            "patient_id": coded("p", PATIENTS),
            "action": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, len(ACTIONS), rows).astype(np.int32)),
                pa.array(ACTIONS),
            ).cast(pa.string()),
            "source_system": pa.repeat(pa.scalar("epic"), rows),
            "workstation": coded("ws", 800),
            "department_id": coded("d", 60),
            "break_the_glass": btg,
            "btg_reason": pc.if_else(btg, "emergency", pa.scalar(None, pa.string())),
        }
    )


def write_lake(
    lake: Path, total: int, days: int, batch_rows: int, *, ordered: bool = True
) -> dict[str, Any]:
    """Append ``total`` events in batches; time only the appends."""
    rng = np.random.default_rng(42)
    seconds = 0.0
    with PeakRss(children=True) as rss:
        for index, first in enumerate(range(0, total, batch_rows)):
            batch = make_batch(
                first, min(batch_rows, total - first), total, days, rng, ordered=ordered
            )
            start = time.perf_counter()
            append_events(lake, batch, f"bench-{index:04d}")
            seconds += time.perf_counter() - start
            del batch
    stats = lake_stats(lake)
    return {
        "rows": stats["rows"],
        "days": stats["days"],
        "files": stats["files"],
        "lake_mb": round(stats["bytes"] / 1e6, 1),
        "append_seconds": round(seconds, 2),
        "rows_per_second": round(stats["rows"] / seconds),
        "peak_rss_mb": round(rss.peak / 1e6),
    }


def query_lake(engine: str, lake: Path) -> dict[str, Any]:
    """Time the standard scans on one engine (run in a child process)."""
    figures: dict[str, Any] = {"engine": engine}
    with PeakRss(children=True) as rss:
        with timed("connect_s", figures):
            con = connect(engine)
        try:
            table = access_events(con, lake)
            with timed("count_s", figures):
                figures["count"] = con.to_pyarrow(table.count()).as_py()
            with timed("count_per_user_s", figures):
                per_user = con.to_pyarrow(table.group_by("user_id").agg(n=table.count()))
            figures["users"] = per_user.num_rows
            with timed("distinct_patients_s", figures):
                figures["patients"] = con.to_pyarrow(table.patient_id.nunique()).as_py()
            week = access_events(
                con, lake, since=START + timedelta(days=7), until=START + timedelta(days=13)
            )
            with timed("week_per_user_day_s", figures):
                con.to_pyarrow(
                    week.group_by(["user_id", week.ts.date().name("day")]).agg(n=week.count())
                )
        finally:
            stop(con)
    figures["peak_rss_mb"] = round(rss.peak / 1e6)
    return figures


def run_child(engine: str, lake: Path) -> dict[str, Any]:
    """Run :func:`query_lake` in a fresh interpreter and read its JSON line."""
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--query", engine, "--lake", str(lake)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["process_s"] = round(time.perf_counter() - start, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--spark", action="store_true", help="also query with Spark")
    parser.add_argument("--unsorted", action="store_true", help="batches not in time order")
    parser.add_argument("--keep", type=Path, help="write the lake here and keep it")
    parser.add_argument("--query", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.query:
        print(json.dumps(query_lake(args.query, args.lake)))
        return

    lake = args.keep or Path(tempfile.mkdtemp(prefix="phiwarden-bench-lake-"))
    try:
        print(f"writing {args.rows:,} events over {args.days} days to {lake} ...", flush=True)
        written = write_lake(lake, args.rows, args.days, args.batch_rows, ordered=not args.unsorted)
        print("append:", json.dumps(written), flush=True)
        again = time.perf_counter()
        rng = np.random.default_rng(42)
        batch = make_batch(0, min(args.batch_rows, args.rows), args.rows, args.days, rng)
        redo = append_events(lake, batch, "bench-0000")
        print(
            f"re-append of batch 0: {redo.rows_written} rows written, "
            f"{len(redo.files_skipped)} files skipped in "
            f"{time.perf_counter() - again:.2f} s (incl. generation)",
            flush=True,
        )
        engines = ["duckdb", "spark"] if args.spark else ["duckdb"]
        for engine in engines:
            print("query:", json.dumps(run_child(engine, lake)), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(lake, ignore_errors=True)


if __name__ == "__main__":
    main()
