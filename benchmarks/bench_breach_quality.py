"""Breach scoping against the generator's phished-mailbox ground truth (figures printed,
never asserted): person-level recall and precision, and per exposed element, of the
extraction + recognizers (fast regex path) + linking to the patient index; and the
single-process speed in MB of mailbox a second.

    .venv/bin/python benchmarks/bench_breach_quality.py [--size medium] [--seed 7]

Not yet in this run (issue 15 continues): plain Presidio side by side, the process pool,
and a mailbox of 500 MB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from phiwarden.breach.extract import extract_path
from phiwarden.breach.people import Index, scope_items
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.store.setup import initialise
from phiwarden.synth import generate
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.synth.spec import SynthSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        generate(
            d / "h", replace(SynthSpec.size(args.size, seed=args.seed), formats=("canonical",))
        )
        stores, _ = initialise(load_settings(d / "data", f"sqlite:///{d / 's.db'}"))
        run_ingest(
            [d / "h" / "canonical"],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=stores.settings.lake_dir,
        )
        truth = write_mailbox(d / "h" / "canonical", d / "mb", seed=args.seed)
        mbox = d / "mb" / "compromised.mbox"
        index = Index.load(stores.engine, stores.protector)
        t = time.perf_counter()
        scope = scope_items(extract_path(mbox), index)
        seconds = time.perf_counter() - t
        size = mbox.stat().st_size
        print(
            f"{args.size} hospital mailbox: {size / 1e6:.1f} MB, {scope.texts:,} texts read, "
            f"{len(scope.unscannable)} unscannable; scoped in {seconds:.1f} s "
            f"({size / 1e6 / seconds:.2f} MB/s, one process)"
        )
        mrn = {pid: p["mrn"] for pid, p in index.patients.items()}
        got = {
            mrn[pid]: {"diagnosis" if e == "clinical" else e for e in person.elements}
            for pid, person in scope.people.items()
        }
        want = {str(t["mrn"]): set(t["elements"]) for t in truth}  # type: ignore[call-overload]
        both = set(got) & set(want)
        print(
            f"people: {len(want)} exposed, {len(got)} found; recall {len(both) / len(want):.4f}, "
            f"precision {len(both) / max(1, len(got)):.4f}; unlinked findings {len(scope.unlinked)}"
        )
        for element in sorted({e for v in want.values() for e in v}):
            tp = sum(1 for m in want if element in want[m] and element in got.get(m, set()))
            fn = sum(1 for m in want if element in want[m] and element not in got.get(m, set()))
            fp = sum(1 for m in got if element in got[m] and element not in want.get(m, set()))
            print(
                f"  {element:16} recall {tp / max(1, tp + fn):.4f}  precision "
                f"{tp / max(1, tp + fp):.4f}  ({tp} found, {fn} missed, {fp} wrong)"
            )
        stores.engine.dispose()


if __name__ == "__main__":
    main()
