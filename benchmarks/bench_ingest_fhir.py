"""Benchmark FHIR AuditEvent ingest: the columnar DuckDB path against pydantic models.

    .venv/bin/python benchmarks/bench_ingest_fhir.py [EVENTS] [--sample 20000] [--keep DIR]

Writes a synthetic hospital sized for about EVENTS access events (default 1,100,000; the
canonical and FHIR formats), or reuses the one in ``--keep DIR``. Then, each in a child
process of its own (so peak memory is that run's alone):

- **columnar**: ``run_ingest`` of ``fhir/AuditEvent.ndjson`` into a fresh SQLite store and
  lake that already hold the facilities, departments, workforce and patients (loaded
  first, untimed): wall time, events/s (target: at least 200,000/s), CPU seconds, peak RSS;
- **sample**: the first ``--sample`` events loaded the columnar way and through the
  ``fhir.resources`` R4B ``AuditEvent`` model (validate, map the model to a canonical row,
  same loader), events/s of each.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import psutil

from measure import PeakRss

TARGET_EVENTS_PER_SECOND = 200_000
ACTIONS = {"C": "create", "R": "view", "U": "update", "D": "delete", "E": "execute"}


@contextmanager
def fresh_stores(hospital: Path) -> Iterator[Any]:
    """A new SQLite store and lake holding the records access events refer to."""
    from phiwarden.config import load_settings
    from phiwarden.ingest.run import run_ingest
    from phiwarden.store.setup import initialise

    with tempfile.TemporaryDirectory(prefix="bench-fhir-") as tmp:
        stores, _ = initialise(load_settings(Path(tmp), f"sqlite:///{Path(tmp) / 'store.db'}"))
        canonical = hospital / "canonical"
        run_ingest(
            [
                canonical / f"{t}.csv"
                for t in ("facilities", "departments", "workforce", "patients")
            ],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=stores.settings.lake_dir,
        )
        yield stores


def _ingest(stores: Any, path: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of ``run_ingest`` on one file, and its report."""
    from phiwarden.ingest.run import run_ingest

    cpu, wall = sum(os.times()[:2]), time.perf_counter()
    report = run_ingest(
        [path],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        fmt="fhir",
    )
    return time.perf_counter() - wall, sum(os.times()[:2]) - cpu, report.to_json()


def child_columnar(hospital: Path) -> dict[str, Any]:
    """Time the columnar ingest of the whole AuditEvent file."""
    from phiwarden.lake.reader import lake_stats

    path = hospital / "fhir" / "AuditEvent.ndjson"
    with fresh_stores(hospital) as stores:
        baseline = psutil.Process().memory_info().rss
        with PeakRss() as rss:
            wall, cpu, report = _ingest(stores, path)
        rows = lake_stats(stores.settings.lake_dir)["rows"]
    return {
        "events": rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "events_per_s": round(rows / wall),
        "cpu_us_per_event": round(cpu / rows * 1e6, 2),
        "rss_before_mb": round(baseline / 2**20),
        "peak_rss_mb": round(rss.peak / 2**20),
        "quarantined": report["quarantined"],
    }


def _model_row(event: Any) -> dict[str, Any]:
    """A canonical access-event row from a validated ``AuditEvent`` model."""
    from phiwarden.synth.fhir_audit import ACTION_SYSTEM

    agents = event.agent or []
    agent = next((a for a in agents if a.requestor), agents[0] if agents else None)
    who = agent.who if agent is not None else None
    reference = (who.reference or "") if who is not None else ""
    user = reference.rsplit("/", 1)[-1] if "Practitioner" in reference else None
    patients = [
        e.what.reference.rsplit("/", 1)[-1]
        for e in event.entity or []
        if e.what is not None and (e.what.reference or "").startswith("Patient/")
    ]
    subtypes = event.subtype or []
    uses = (agent.purposeOfUse or []) if agent is not None else []
    concepts = [*(event.purposeOfEvent or []), *uses]
    btg = any(s.code == "110127" for s in subtypes) or any(
        c.code == "ETREAT" for concept in concepts for c in concept.coding or []
    )
    observer = event.source.observer if event.source is not None else None
    return {
        "event_id": event.id,
        "ts": event.recorded.replace(tzinfo=None).isoformat(),
        "user_id": user,
        "patient_id": patients[0] if patients else None,
        "action": next((s.code for s in subtypes if s.system == ACTION_SYSTEM), None)
        or ACTIONS.get(event.action or ""),
        "source_system": observer.display if observer is not None else None,
        "workstation": agent.network.address if agent is not None and agent.network else None,
        "department_id": event.source.site if event.source is not None else None,
        "break_the_glass": btg,
        "btg_reason": next((u.text for u in uses if u.text), None),
    }


def child_sample(hospital: Path, size: int) -> dict[str, Any]:
    """Load the first ``size`` events columnar and through pydantic models; events/s each."""
    from fhir.resources.R4B.auditevent import AuditEvent

    from phiwarden.domain.canonical import ACCESS_EVENTS
    from phiwarden.ingest.fhir_sink import raw_table
    from phiwarden.ingest.loader import line_locator

    source = hospital / "fhir" / "AuditEvent.ndjson"
    with source.open(encoding="utf-8") as fh:
        lines = list(islice(fh, size))
    with tempfile.TemporaryDirectory(prefix="bench-fhir-sample-") as tmp:
        sample = Path(tmp) / "AuditEvent.ndjson"
        sample.write_text("".join(lines), encoding="utf-8")
        with fresh_stores(hospital) as stores:
            wall, _, _ = _ingest(stores, sample)
        columnar = len(lines) / wall
        with fresh_stores(hospital) as stores:
            from phiwarden.ingest.loader import Loader

            loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
            started = time.perf_counter()
            rows = [_model_row(AuditEvent.model_validate_json(line)) for line in lines]
            validated = time.perf_counter() - started
            loader.load(
                ACCESS_EVENTS,
                raw_table(ACCESS_EVENTS, rows),
                source=str(sample),
                locate=line_locator(1),
                batch_key="bench-pydantic",
            )
            pydantic_wall = time.perf_counter() - started
    return {
        "sample": len(lines),
        "columnar_events_per_s": round(columnar),
        "pydantic_events_per_s": round(len(lines) / pydantic_wall),
        "pydantic_validate_share": round(validated / pydantic_wall, 2),
        "speedup": round(columnar / (len(lines) / pydantic_wall), 1),
    }


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _hospital(events: int, keep: Path | None, tmp: Path) -> Path:
    from phiwarden.synth import SynthSpec, generate

    out = keep or tmp
    if (out / "fhir" / "AuditEvent.ndjson").exists() and (out / "canonical").is_dir():
        print(f"reusing the hospital in {out}")
        return out
    spec = SynthSpec.for_events(events, formats=("canonical", "fhir"))
    print(f"writing a hospital: {spec.patients:,} patients, {spec.workforce:,} workforce ...")
    started = time.perf_counter()
    result = generate(out, spec)
    print(f"  {result.counts['access_events']:,} events in {time.perf_counter() - started:.1f} s")
    return out


def main() -> int:
    """Run the benchmark and print its figures."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, hospital = sys.argv[2], Path(sys.argv[3])
        figures = (
            child_columnar(hospital)
            if kind == "columnar"
            else child_sample(hospital, int(sys.argv[4]))
        )
        print(json.dumps(figures))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("events", nargs="?", type=int, default=1_100_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the hospital here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fhir-hospital-") as tmp:
        hospital = _hospital(args.events, args.keep, Path(tmp))
        columnar = _child("columnar", str(hospital))
        sample = _child("sample", str(hospital), str(args.sample))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    print("columnar AuditEvent ingest (run_ingest, DuckDB):")
    for key, value in columnar.items():
        print(f"  {key:22s} {value:>12,}" if isinstance(value, int) else f"  {key:22s} {value:>12}")
    rate = columnar["events_per_s"]
    print(f"  target                 {TARGET_EVENTS_PER_SECOND:>12,}  ({rate / 2e5:.0%} of it)")
    print(f"sample of {sample['sample']:,} events:")
    for key, value in sample.items():
        if key != "sample":
            print(
                f"  {key:22s} {value:>12,}"
                if isinstance(value, int)
                else f"  {key:22s} {value:>12}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
