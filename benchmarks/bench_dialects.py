"""Detection quality per input dialect: the same hospital, exported the way others do.

    .venv/bin/python benchmarks/bench_dialects.py [EVENTS] [--seed S] [--keep DIR]

Generates one hospital (default about 1,000,000 accesses) and writes it as phiwarden's
own FHIR export, as the ``standard`` dialect (only standard terminology, the hospital's
own job codes, optional fields missing; ``synth --dialect standard``) and as the
``epic-like`` dialect (an Epic-style access-log CSV with HL7 v2 master files, ADT,
orders, results, medication orders and appointments; ``synth --dialect epic-like``). Each
is ingested into a fresh SQLite store and lake, monitored over every day, and scored
against ``ground_truth.json``: recall, precision, explained fraction, false alerts per
100k accesses, and what ingest quarantined. Figures are printed side by side, never
asserted. Targets (issue #13): recall >= 0.95, precision >= 0.8, explained >= 94 %,
<= 2 false alerts per 100k, 0 readable records quarantined, on every dialect.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.monitor import run_monitor
from phiwarden.monitor.readiness import readiness
from phiwarden.store.setup import initialise
from phiwarden.synth import SynthSpec, generate
from phiwarden.synth.dialect_epic import FOLDER, write_epic_like
from phiwarden.synth.dialect_standard import rewrite_standard
from quality import monitor_quality


def run_dialect(
    name: str, sources: list[Path], root: Path, truth: dict[str, Any]
) -> dict[str, Any]:
    """Ingest one dialect's files into fresh stores, monitor, and score."""
    data = root / f"data-{name}"
    stores, _ = initialise(load_settings(data, f"sqlite:///{data / 'phiwarden.db'}"))
    started = time.perf_counter()
    report = run_ingest(
        sources,
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    ingest_s = time.perf_counter() - started
    started = time.perf_counter()
    result = run_monitor(stores)
    monitor_s = time.perf_counter() - started
    ready = readiness(stores)
    out = monitor_quality(result, truth)
    out.update(
        quarantined=report.quarantined,
        gaps=sum(report.gaps.values()),
        unmapped=sum(report.unmapped.values()),
        ingest_s=ingest_s,
        monitor_s=monitor_s,
        readiness={c.topic: c.state for c in ready.checks},
    )
    return out


def main() -> int:
    """Generate, export in each dialect, run and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("events", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="folder for the hospital and stores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dialects-") as tmp:
        root = args.keep or Path(tmp)
        hospital = root / "hospital"
        if not (hospital / "ground_truth.json").exists():
            spec = SynthSpec.for_events(args.events, seed=args.seed, formats=("canonical", "fhir"))
            print(
                f"spec: {spec.patients:,} patients, {spec.workforce:,} workforce, {spec.days} days"
            )
            generate(hospital, spec)
        standard = root / "fhir-standard"
        if not standard.exists():
            shutil.copytree(hospital / "fhir", standard)
            rewrite_standard(standard, args.seed)
        if not (hospital / FOLDER).exists():
            write_epic_like(hospital / "canonical", hospital)
        truth = json.loads((hospital / "ground_truth.json").read_text(encoding="utf-8"))
        epic = hospital / FOLDER
        dialects = {
            "phiwarden": [hospital / "fhir"],
            "standard": [standard],
            "epic-like": [epic / "hl7", epic / "access_log"],
        }
        rows = {name: run_dialect(name, path, root, truth) for name, path in dialects.items()}
    names = list(rows)
    print(f"{'':<26}" + "".join(f"{n:>16}" for n in names))

    def line(label: str, fmt: str, key: str) -> None:
        print(f"{label:<26}" + "".join(f"{format(rows[n][key], fmt):>16}" for n in names))

    line("accesses", ",", "accesses")
    line("explained (>= 94%)", ".2%", "explained")
    line("recall (>= 0.95)", ".3f", "recall")
    line("precision (>= 0.8)", ".3f", "precision")
    line("false alerts / 100k (<= 2)", ".2f", "false_per_100k")
    line("alerts", ",", "alerts")
    line("quarantined (0)", ",", "quarantined")
    line("directory gaps", ",", "gaps")
    line("unmapped codes", ",", "unmapped")
    line("ingest s", ".1f", "ingest_s")
    line("monitor s", ".1f", "monitor_s")
    for n in names:
        per = ", ".join(f"{k} {a}/{b}" for k, (a, b) in rows[n]["per_scenario"].items())
        print(f"{n}: recall per scenario: {per}")
        if rows[n]["missed"]:
            print(f"{n}: missed: {', '.join(rows[n]['missed'])}")
        if rows[n]["false_reasons"]:
            why = ", ".join(f"{k} {v}" for k, v in rows[n]["false_reasons"].items())
            print(f"{n}: reasons on false alerts: {why}")
        weak = {k: v for k, v in rows[n]["readiness"].items() if v != "ok"}
        print(f"{n}: readiness not ok: {weak or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
