"""Red-flag detection quality and alert volume on a synthetic hospital.

Synthesises a hospital with injected identity theft (ground truth), ingests it into a
SQLite store, links the patient index and scans; prints per-scenario recall and
precision of the detector meant to catch it, the flags per code per 1,000 registrations,
and the time of the link and the scan (figures printed, never asserted).

    .venv/bin/python benchmarks/bench_redflags.py [--patients N] [--days D] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from phiwarden.config import load_settings
from phiwarden.identity.run import link_patient_index
from phiwarden.ingest.run import run_ingest
from phiwarden.redflags.quality import quality
from phiwarden.redflags.scan import run_scan
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import initialise
from phiwarden.synth import generate
from phiwarden.synth.spec import SynthSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--workforce", type=int, default=800)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_redflags_"))
    spec = SynthSpec(
        patients=args.patients,
        workforce=args.workforce,
        days=args.days,
        seed=args.seed,
        formats=("canonical",),
    )
    t = time.perf_counter()
    generate(folder / "hospital", spec)
    settings = load_settings(folder / "data", f"sqlite:///{folder / 'store.db'}")
    stores, _ = initialise(settings)
    run_ingest(
        [folder / "hospital" / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=settings.lake_dir,
    )
    print(
        f"hospital of {args.patients:,} patients synthesised and ingested in "
        f"{time.perf_counter() - t:.1f} s"
    )
    truth = json.loads((folder / "hospital" / "ground_truth.json").read_text())
    t = time.perf_counter()
    linked = link_patient_index(stores)
    print(
        f"link: {time.perf_counter() - t:.1f} s, {len(linked.clusters)} clusters, "
        f"{len(linked.conflicts)} conflicts ({linked.training})"
    )
    t = time.perf_counter()
    result = run_scan(stores)
    seconds = time.perf_counter() - t
    with stores.engine.connect() as conn:
        regs = conn.execute(
            select(func.count()).select_from(domain_table("registrations"))
        ).scalar_one()
    print(f"scan: {seconds:.1f} s over {regs:,} registrations, {len(result.findings):,} flags")
    print(
        f"{'scenario':<22}{'detector':<22}{'injected':>9}{'caught':>8}{'flags':>7}"
        f"{'recall':>8}{'precision':>10}"
    )
    for q in quality(result.findings, truth["identity_theft"]):
        print(
            f"{q.scenario:<22}{q.detector:<22}{q.injected:>9}{q.caught:>8}{q.flags:>7}"
            f"{q.recall:>8.3f}{q.precision:>10.3f}"
        )
    print(
        "flags per 1,000 registrations: "
        + ", ".join(
            f"{code} {n * 1000 / max(regs, 1):.2f}" for code, n in sorted(result.by_code().items())
        )
    )


if __name__ == "__main__":
    main()
