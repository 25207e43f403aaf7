"""Real-time screening against an index of N persons (default 1M) in the SQLite store
(or, with ``--database postgres``, a scratch PostgreSQL database on the local server).

Builds the store once (patients, the identity index and a model trained on the persons),
then screens 1,000 registrations one at a time through ``redflags.screen.screen``: half
are people in the index (with the errors of the duplicate generator), half are new.
Prints the latency percentiles (figures printed, never asserted).

    .venv/bin/python benchmarks/bench_screen.py [N] [--keep DIR] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from phiwarden.config import load_settings
from phiwarden.identity.dates import parse_dob
from phiwarden.identity.index import write_index
from phiwarden.identity.link import link_persons
from phiwarden.identity.records import normalise_persons
from phiwarden.redflags.screen import Registration, screen
from phiwarden.store.setup import initialise

sys.path.insert(0, str(Path(__file__).parent))
from measure import scratch_database
from persons import COLUMNS, generate


def build(folder: Path, n: int, url: str | None = None) -> tuple[object, list[list[str]]]:
    """Initialise a store in ``folder`` (or at ``url``) holding N persons; the stores and
    the rows."""
    import pyarrow as pa

    url = url or f"sqlite:///{folder / 'store.db'}"
    settings = load_settings(folder / "data", url)
    stores, _ = initialise(settings)
    rows, _truth = generate(n)
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)})
    t = time.perf_counter()
    persons = normalise_persons(table, stores.protector.keyed_hash)
    print(f"normalised {n:,} persons in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    sample = persons.slice(0, min(n, 200_000))
    result = link_persons(sample)
    print(f"trained on {sample.num_rows:,} of them in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    mrns = {r[0]: r[0] for r in rows}
    write_index(stores.engine, persons, mrns, {}, result.parameters, engine_name="duckdb")
    ssn_hash = persons.column("ssn_hash").to_pylist()
    dobs = persons.column("dob").to_pylist()
    values = [
        (r[0], r[0], r[1], r[2], d or "1900-01-01", r[4], h, r[6], r[7], r[8], r[9], r[10])
        for r, h, d in zip(rows, ssn_hash, dobs, strict=True)
    ]
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.executemany(
            "INSERT INTO patients (patient_id, mrn, first_name, last_name, dob, sex, ssn_hash, "
            "address_line, city, state, zip, phone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            values,
        )
        con.commit()
        con.close()
    else:
        from datetime import date

        from sqlalchemy import insert

        from phiwarden.store.repositories import domain_table

        patients = domain_table("patients")
        names = [
            "patient_id",
            "mrn",
            "first_name",
            "last_name",
            "dob",
            "sex",
            "ssn_hash",
            "address_line",
            "city",
            "state",
            "zip",
            "phone",
        ]
        with stores.engine.begin() as conn:
            for start in range(0, len(values), 20_000):
                batch = [dict(zip(names, v, strict=True)) for v in values[start : start + 20_000]]
                for row in batch:
                    row["dob"] = date.fromisoformat(str(row["dob"]))
                conn.execute(insert(patients), batch)
        with stores.engine.begin() as conn:  # as autovacuum would after a real ingest
            conn.exec_driver_sql("ANALYZE patients")
    print(f"stored the index and the patients in {time.perf_counter() - t:.1f} s")
    return stores, rows


def registration(row: list[str]) -> Registration:
    """A screening request from a person row."""
    return Registration(
        first_name=row[1],
        last_name=row[2],
        dob=parse_dob(row[3]),
        sex=row[4] or None,
        ssn=row[5] or None,
        address_line=row[6],
        city=row[7],
        state=row[8],
        zip=row[9],
        phone=row[10],
        id_type="drivers_license",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("persons", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_screen_"))
    folder.mkdir(parents=True, exist_ok=True)
    with scratch_database(args.database, folder) as url:
        measure(folder, args.persons, url, args.database)


def measure(folder: Path, persons: int, url: str, database: str) -> None:
    """Build the index at ``url`` and screen 1,000 registrations one at a time."""
    stores, rows = build(folder, persons, url)
    rng = np.random.default_rng(9)
    known = [rows[int(i)] for i in rng.choice(len(rows), 500, replace=False)]
    fresh, _ = generate(1_100, seed=77)
    requests = [registration(r) for r in known] + [registration(r) for r in fresh[:500]]
    rng.shuffle(requests)  # type: ignore[arg-type]
    for reg in requests[:20]:  # warm caches and connections
        screen(stores, reg)  # type: ignore[arg-type]
    times: list[float] = []
    matched = stopped = 0
    for reg in requests:
        t = time.perf_counter()
        answer = screen(stores, reg)  # type: ignore[arg-type]
        times.append((time.perf_counter() - t) * 1000)
        matched += bool(answer["matches"])
        stopped += answer["decision"] == "stop"
    q = statistics.quantiles(times, n=100)
    print(
        f"screened {len(times)} registrations against {persons:,} persons ({database}): "
        f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, max {max(times):.1f} ms"
    )
    print(f"{matched} matched an indexed person, {stopped} answered 'stop'")
    stores.engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
