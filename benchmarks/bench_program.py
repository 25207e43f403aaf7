"""The privacy program on a synthetic hospital (figures printed, never asserted):

- the evidence snapshot of an investigation: the member with the most accesses over the
  whole window (every access, every opening with its explanation), its size and the time to
  take and store it, and to load and verify it again;
- the caller verification for refills: p50/p95/p99 of one check (right answers, wrong
  answers, unknown MRNs) in-process, on the store;
- the board report: the year's figures, the PDF and the HTML, and the dashboard.

The store is SQLite, or with ``--database postgres`` a scratch database on the local
PostgreSQL server (dropped afterwards).

    .venv/bin/python benchmarks/bench_program.py [--patients 20000 --workforce 1000 --days 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import ibis
from sqlalchemy import func, select

from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.engine import open_backend
from phiwarden.lake.reader import access_events
from phiwarden.monitor import run_monitor
from phiwarden.program import evidence
from phiwarden.program.board_output import write_report
from phiwarden.program.dashboard import dashboard
from phiwarden.program.investigation import open_investigation
from phiwarden.redflags.caller import Caller, verify
from phiwarden.redflags.scan import run_scan
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import initialise
from phiwarden.synth import generate
from phiwarden.synth.spec import SynthSpec

sys.path.insert(0, str(Path(__file__).parent))
from measure import scratch_database


def _pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49]:.2f} ms, p95 {q[94]:.2f} ms, p99 {q[98]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--workforce", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.database, Path(tmp)) as url:
        root = Path(tmp)
        spec = SynthSpec(
            patients=args.patients,
            workforce=args.workforce,
            days=args.days,
            seed=5,
            formats=("canonical",),
        )
        generate(root / "h", spec)
        stores, _ = initialise(load_settings(root / "data", url))
        run_ingest(
            [root / "h" / "canonical"],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=stores.settings.lake_dir,
        )
        run_monitor(stores)
        run_scan(stores)
        with open_backend("duckdb") as con:
            e = access_events(con, stores.settings.lake_dir, spec.start, spec.end)
            total = int(e.count().execute())
            top = e.group_by("user_id").aggregate(n=e.count()).order_by(ibis.desc("n")).limit(1)
            user, n = top.execute().iloc[0]
        print(
            f"hospital: {args.patients:,} patients, {args.workforce:,} staff, {total:,} accesses "
            f"over {args.days} days; store {args.database}"
        )
        started = time.perf_counter()
        case_id, _ = open_investigation(
            stores,
            actor="bench",
            user_id=str(user),
            complaint="benchmark",
            since=spec.start,
            until=spec.end,
        )
        took = time.perf_counter() - started
        started = time.perf_counter()
        verdict = evidence.load(stores, case_id)
        loaded = time.perf_counter() - started
        size = len(evidence.canonical(verdict.content))
        print(
            f"evidence snapshot of {user} ({n:,} accesses, {len(verdict.content['openings']):,} "
            f"openings): opened and frozen in {took:.2f} s, {size / 1e6:.1f} MB of JSON; "
            f"loaded and verified in {loaded * 1000:.0f} ms (ok={verdict.ok})"
        )
        p = domain_table("patients")
        with stores.engine.connect() as conn:
            people = [
                dict(r)
                for r in conn.execute(
                    select(p.c.mrn, p.c.first_name, p.c.last_name, p.c.dob, p.c.ssn_last4)
                    .where(p.c.ssn_last4.is_not(None))
                    .order_by(func.random())
                    .limit(args.calls)
                ).mappings()
            ]
        rng = random.Random(3)
        times: list[float] = []
        for i, person in enumerate(people):
            kind = i % 3
            caller = Caller(
                mrn=person["mrn"] if kind != 2 else f"X{i}",
                first_name=person["first_name"] or "",
                last_name=person["last_name"] or "",
                dob=person["dob"],
                ssn4=person["ssn_last4"] if kind == 0 else f"{rng.randint(0, 9999):04d}",
            )
            started = time.perf_counter()
            verify(stores, caller, agent="bench")
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"caller verification ({len(times)} checks: right, wrong, unknown MRN): {_pct(times)}"
        )
        started = time.perf_counter()
        pdf, _html, figures = write_report(
            stores, datetime.now().year, root / "reports", date.today()
        )
        print(
            f"board report {figures['year']}: figures, PDF ({pdf.stat().st_size / 1e3:.0f} kB) "
            f"and HTML in {time.perf_counter() - started:.2f} s"
        )
        started = time.perf_counter()
        dashboard(stores)
        print(f"program dashboard: {(time.perf_counter() - started) * 1000:.0f} ms")
        stores.engine.dispose()


if __name__ == "__main__":
    main()
