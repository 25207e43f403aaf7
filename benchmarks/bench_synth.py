"""Benchmark the synthetic hospital generator: events per second and peak memory.

    .venv/bin/python benchmarks/bench_synth.py [EVENTS] [--days 30] [--seed 7] [--keep DIR]

Generates a hospital sized for about EVENTS access events (default 10,000,000; canonical
format only) into a temporary folder, then prints the wall time of the whole
``generate`` call, events per second (target: at least 170,000/s on two cores), the
peak resident memory, and rows per table. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from phiwarden.synth import SynthSpec, generate

TARGET_EVENTS_PER_SECOND = 170_000


def _peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "events", nargs="?", type=int, default=10_000_000, help="access events wanted"
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    args = parser.parse_args()
    spec = SynthSpec.for_events(args.events, days=args.days, seed=args.seed, formats=("canonical",))
    print(f"spec: {spec.patients:,} patients, {spec.workforce:,} workforce, {spec.days} days")
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done > 0:  # time since the previous report belongs to this stage
            stages[stage] = stages.get(stage, 0.0) + now - last[0]
        last[0] = now

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        out = args.keep or Path(tmp)
        started = time.perf_counter()
        result = generate(out, spec, progress=progress)
        wall = time.perf_counter() - started
    events = result.counts["access_events"]
    rate = events / wall
    print(f"access events     {events:,}")
    print(f"generate wall     {wall:.1f} s")
    ratio = rate / TARGET_EVENTS_PER_SECOND
    print(f"events per second {rate:,.0f} (target {TARGET_EVENTS_PER_SECOND:,}; ratio {ratio:.2f})")
    print(f"peak RSS          {_peak_rss_mb():,.0f} MiB")
    print("seconds per stage:")
    for stage, seconds in stages.items():
        print(f"  {stage:<28} {seconds:6.2f}")
    print("rows per table:")
    for name, n in result.counts.items():
        print(f"  {name:<24} {n:>12,}")
    truth = result.ground_truth
    snooped = len(truth["snooping"])
    print(f"ground truth: {snooped} snooping cases, {len(truth['identity_theft'])} identity thefts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
