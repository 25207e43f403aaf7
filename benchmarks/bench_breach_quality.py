"""Breach scoping quality against the generator's phished-mailbox ground truth (figures
printed, never asserted), side by side in one run for three recognizer sets behind the
same extraction and the same linking to the patient index:

- ``fast``: phiwarden's recognizers called directly (the scan's default);
- ``presidio``: the same recognizers registered in a Presidio AnalyzerEngine;
- ``plain-presidio``: Presidio's default recognizers, no NLP model (what Presidio gives
  out of the box; an element it has no recognizer for counts as missed).

For each: person-level recall and precision, per-element recall and precision, and the
speed of recognition and linking in one process (extraction is shared and timed apart).

    .venv/bin/python benchmarks/bench_breach_quality.py [--size medium] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from phished import phished_hospital
from phiwarden.breach.extract import Text, extract_path
from phiwarden.breach.people import Index, scope_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        stores, mbox, truth = phished_hospital(d, args.size, args.seed)
        index = Index.load(stores.engine, stores.protector)
        size = mbox.stat().st_size
        t = time.perf_counter()
        items = list(extract_path(mbox))
        extract_s = time.perf_counter() - t
        texts = sum(isinstance(i, Text) for i in items)
        print(
            f"{args.size} hospital mailbox: {size / 1e6:.1f} MB, {texts:,} texts; extraction "
            f"{extract_s:.1f} s ({size / 1e6 / extract_s:.2f} MB/s, one process, shared by all)"
        )
        mrn = {pid: p["mrn"] for pid, p in index.patients.items()}
        want = {str(t["mrn"]): set(t["elements"]) for t in truth}  # type: ignore[call-overload]
        elements = sorted({e for v in want.values() for e in v})
        rows: dict[str, dict[str, str]] = {}
        for recognizer in ("fast", "presidio", "plain-presidio"):
            t = time.perf_counter()
            scope = scope_items(items, index, recognizer)
            seconds = time.perf_counter() - t
            got = {
                mrn[pid]: {"diagnosis" if e == "clinical" else e for e in person.elements}
                for pid, person in scope.people.items()
            }
            both = set(got) & set(want)
            rows[recognizer] = {
                "speed (recognize + link)": f"{size / 1e6 / seconds:.2f} MB/s",
                "people recall": f"{len(both) / len(want):.4f}",
                "people precision": f"{len(both) / max(1, len(got)):.4f}",
                "unlinked people": f"{len(scope.unlinked):,}",
            }
            for element in elements:
                tp = sum(1 for m in want if element in want[m] and element in got.get(m, set()))
                fn = sum(1 for m in want if element in want[m] and element not in got.get(m, set()))
                fp = sum(1 for m in got if element in got[m] and element not in want.get(m, set()))
                rows[recognizer][f"{element} recall / precision"] = (
                    f"{tp / max(1, tp + fn):.4f} / {tp / max(1, tp + fp):.4f}"
                )
        names = list(rows)
        width = max(len(k) for k in rows["fast"])
        print(f"{'':{width}}  " + "  ".join(f"{n:>18}" for n in names))
        for key in rows["fast"]:
            print(f"{key:{width}}  " + "  ".join(f"{rows[n][key]:>18}" for n in names))
        print(
            f"people exposed (ground truth): {len(want):,}; with an SSN: "
            f"{sum('ssn' in v for v in want.values()):,}"
        )
        stores.engine.dispose()


if __name__ == "__main__":
    main()
