"""Linkage at scale: ``phiwarden link --input`` on N synthetic person records (default 1M).

Prints wall time, peak memory of the command, and precision / recall / F1 of the
duplicate pairs against the planted truth (figures printed, never asserted).

    .venv/bin/python benchmarks/bench_link.py [N] [--engine duckdb|spark] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from persons import generate, pairs_of, scores, write_csv

BIN = Path(sys.executable).parent / "phiwarden"


def run(csv_path: Path, engine: str) -> tuple[dict[str, list], float, int]:
    """Run the command; (its JSON, seconds, peak RSS bytes of it and its children)."""
    started = time.perf_counter()
    proc = psutil.Popen(
        [str(BIN), "link", "--input", str(csv_path), "--engine", engine, "--json"],
        stdout=subprocess.PIPE,
    )
    peak = 0
    chunks: list[bytes] = []
    import threading

    def read() -> None:
        assert proc.stdout is not None
        chunks.append(proc.stdout.read())

    reader = threading.Thread(target=read)
    reader.start()
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    reader.join()
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"phiwarden link failed with exit code {proc.returncode}")
    return json.loads(b"".join(chunks)), seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("records", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_link_"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"persons_{args.records}.csv"
    t = time.perf_counter()
    rows, truth = generate(args.records)
    write_csv(path, rows)
    print(
        f"generated {len(rows):,} records ({len(truth):,} planted duplicates) in "
        f"{time.perf_counter() - t:.1f} s"
    )
    out, seconds, peak = run(path, args.engine)
    found = set(pairs_of(out["clusters"]))
    p, r, f1 = scores(found, {tuple(sorted(x)) for x in truth})
    print(f"link --engine {args.engine}: {seconds:.1f} s wall, peak RSS {peak / 2**30:.2f} GiB")
    print(
        f"pairs found {len(found):,}; precision {p:.4f} recall {r:.4f} F1 {f1:.4f}; "
        f"clusters {len(out['clusters']):,}, conflicts {len(out['conflicts']):,}"
    )


if __name__ == "__main__":
    main()
