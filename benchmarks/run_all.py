"""Run every benchmark in this folder, one process each, and print their figures.

``make bench`` calls this. Pass benchmark names to run only some of them, e.g.
``make bench ARGS="synth lake"``. Figures are printed, never asserted.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    """Run the chosen benchmarks (all by default); non-zero if any failed."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(
            f"--- {script.stem}: exit {code}, {time.perf_counter() - started:.1f} s wall",
            flush=True,
        )
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
