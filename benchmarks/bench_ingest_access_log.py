"""Benchmark the Epic-style access-log reader: rows per second from CSV into the lake.

    .venv/bin/python benchmarks/bench_ingest_access_log.py [EVENTS] [--days 30] [--keep DIR]

Generates a hospital sized for about EVENTS access events (default 5,000,000; canonical
format), writes its Epic-style export with ``synth.access_log.write_access_log``, loads the
reference tables (workforce, patients...) into a fresh SQLite store, then times
``ingest.access_log.load`` over the export folder: rows/s (target: at least 1,000,000/s),
peak RSS of the process, and the share of wall time spent inside ``Loader.load`` (the
shared validate + lake append path). Then it ingests the folder again (must add nothing)
and checks the lake holds as many events as the canonical output. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from measure import PeakRss
from phiwarden.config import load_settings
from phiwarden.ingest import access_log, canonical
from phiwarden.ingest.loader import Loader
from phiwarden.lake.reader import lake_stats
from phiwarden.store.setup import initialise
from phiwarden.synth import SynthSpec, generate
from phiwarden.synth.access_log import write_access_log

TARGET_ROWS_PER_SECOND = 1_000_000
REFERENCE_TABLES = ("facilities", "departments", "workforce", "patients", "patient_merges")


class LoaderClock:
    """Adds up wall time spent inside ``Loader.load`` (by any thread) while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._original = Loader.load

    def __enter__(self) -> LoaderClock:
        original = self._original

        def timed(loader: Loader, *args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                original(loader, *args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - started

        Loader.load = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        Loader.load = self._original  # type: ignore[method-assign]


class NoLoad:
    """Replaces ``Loader.load`` with counting only, to time the reader and mapping alone."""

    def __init__(self) -> None:
        self._original = Loader.load

    def __enter__(self) -> NoLoad:
        def count(loader: Loader, table: Any, raw: Any, **_: Any) -> None:
            loader.report.loaded["access_events"] += raw.num_rows

        Loader.load = count  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        Loader.load = self._original  # type: ignore[method-assign]


def prepare(out: Path, events: int, days: int, seed: int) -> int:
    """Generate the hospital and its Epic-style export (reused if ``out`` already has both)."""
    export = out / "access_log"
    if (out / "canonical").is_dir() and export.is_dir() and any(export.glob("*.csv")):
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return int(manifest["counts"]["access_events"])
    spec = SynthSpec.for_events(events, days=days, seed=seed, formats=("canonical",))
    print(f"spec: {spec.patients:,} patients, {spec.workforce:,} workforce, {spec.days} days")
    started = time.perf_counter()
    result = generate(out, spec)
    print(f"generate: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    rows = write_access_log(out / "canonical", export)
    print(f"export: {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return int(result.counts["access_events"])


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("events", nargs="?", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="hospital folder to reuse or create")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-access-log-") as tmp:
        hospital = args.keep or Path(tmp) / "hospital"
        expected = prepare(hospital, args.events, args.days, args.seed)
        export = hospital / "access_log"
        files = sorted(export.glob("*.csv"))
        size = sum(p.stat().st_size for p in files)
        stores, _ = initialise(load_settings(Path(tmp) / "data", f"sqlite:///{tmp}/store.db"))
        loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
        for name in REFERENCE_TABLES:
            canonical.load_file(loader, hospital / "canonical" / f"{name}.csv")
        loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
        with PeakRss() as rss, LoaderClock() as clock:
            started, cpu = time.perf_counter(), time.process_time()
            access_log.load(loader, export)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = loader.report.loaded["access_events"]
        again = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
        started = time.perf_counter()
        access_log.load(again, export)
        rerun = time.perf_counter() - started
        in_lake = lake_stats(stores.settings.lake_dir)["rows"]
        alone = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
        with NoLoad():
            started, cpu_alone = time.perf_counter(), time.process_time()
            access_log.load(alone, export)
            wall_alone = time.perf_counter() - started
            cpu_alone = time.process_time() - cpu_alone
    rate = rows / wall
    print(f"export: {size / 2**20:,.0f} MiB in {len(files)} files")
    verdict = "met" if rate >= TARGET_ROWS_PER_SECOND else "NOT met"
    print(
        f"ingest: {rows:,} rows in {wall:.2f} s = {rate:,.0f} rows/s "
        f"(target {TARGET_ROWS_PER_SECOND:,}/s: {verdict})"
    )
    print(
        f"CPU: {cpu:.2f} s over all threads = {rows / cpu:,.0f} rows per CPU-second "
        f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end)"
    )
    print(f"peak RSS: {rss.peak / 2**20:,.0f} MiB")
    print(
        f"reader + mapping alone (Loader.load replaced by a count): {wall_alone:.2f} s = "
        f"{rows / wall_alone:,.0f} rows/s, {rows / cpu_alone:,.0f} rows per CPU-second"
    )
    print(
        f"inside Loader.load (validate + references + lake append, summed over threads): "
        f"{clock.seconds:.2f} s"
    )
    print(
        f"quarantined: {loader.report.quarantined}; re-ingest: "
        f"{sum(again.report.loaded.values())} rows added in {rerun:.2f} s"
    )
    print(
        f"lake rows {in_lake:,}, canonical events {expected:,}: "
        f"{'equal' if in_lake == expected else 'DIFFERENT'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
