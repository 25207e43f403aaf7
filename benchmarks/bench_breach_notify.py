"""Breach notification at scale (figures printed, never asserted):

- letters: a business associate's list naming 30,000 patients of the medium hospital
  (SSN for a third of them) added to an incident, decided a breach, and every letter
  written as a PDF with the mailing list, on both cores;
- the call centre's lookup with 100,000 letters on file (the 30,000 above and 80,000
  more from two more incidents), by reference code and by name, date of birth and ZIP:
  p50 and p95 over random callers, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/bench_breach_notify.py [--letters 30000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from measure import PG_ADMIN
from phiwarden.breach.decision import Decision, decide
from phiwarden.breach.hhs import hospital
from phiwarden.breach.incident import Incident, get_incident, open_incident
from phiwarden.breach.letters import prepare
from phiwarden.breach.lists import add_list
from phiwarden.breach.lookup import by_person, by_reference
from phiwarden.breach.mailing import record_letters, write
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import generate
from phiwarden.synth.spec import SynthSpec


def _incident(stores: Stores, title: str) -> str:
    return open_incident(
        stores,
        Incident(
            title=title, discovered=date(2026, 11, 20), type="hacking", location="network_server"
        ),
        actor="bench",
    )


def _listed(stores: Stores, root: Path, patients: list[dict[str, Any]], title: str) -> str:
    """An incident whose people come from a business associate's list, decided a breach."""
    path = root / f"{title}.csv"
    lines = ["MRN,Elements"] + [
        f"{p['mrn']},name;dob;address;{'ssn' if i % 3 == 0 else 'insurance'}"
        for i, p in enumerate(patients)
    ]
    path.write_text("\n".join(lines) + "\n")
    incident = _incident(stores, title)
    add_list(stores, incident, path, actor="bench")
    decide(
        stores,
        incident,
        Decision(outcome="breach", reason="bench"),
        actor="bench",
        role="privacy_officer",
    )
    return incident


def _letters(
    stores: Stores, root: Path, incident: str, workers: int, render: bool
) -> dict[str, Any]:
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident)
        t = time.perf_counter()
        batch = prepare(conn, found, stores.protector)  # type: ignore[arg-type]
        prepared = time.perf_counter() - t
    t = time.perf_counter()
    done = (
        write(batch, root / incident, hospital(None)["covered_entity"], date.today(), workers)
        if render
        else {}
    )
    rendered = time.perf_counter() - t
    record_letters(stores.engine, incident, batch)
    return {
        "prepared": prepared,
        "rendered": rendered,
        "letters": len(batch.letters) + len(batch.insufficient),
        **done,
    }


def _lookups(stores: Stores, patients: list[dict[str, Any]], n: int, label: str) -> None:
    from sqlalchemy import select

    from phiwarden.store.breach_tables import breach_letters

    rng = random.Random(7)
    with stores.engine.connect() as conn:
        refs = conn.execute(select(breach_letters.c.reference)).scalars().all()
        total = len(refs)
        by_ref, by_who = [], []
        for _ in range(n):
            ref = rng.choice(refs)
            t = time.perf_counter()
            by_reference(conn, ref, "1-800-555-0199")
            by_ref.append(time.perf_counter() - t)
            p = rng.choice(patients)
            t = time.perf_counter()
            by_person(
                conn,
                f"{p['first_name']} {p['last_name']}",
                p["dob"],
                p["zip"] or "00000",
                "1-800-555-0199",
            )
            by_who.append(time.perf_counter() - t)
    for name, times in (("by reference", by_ref), ("by name, DOB and ZIP", by_who)):
        q = statistics.quantiles(times, n=100)
        print(
            f"lookup {name} on {label}, {total:,} letters on file: p50 {q[49] * 1e3:.1f} ms, "
            f"p95 {q[94] * 1e3:.1f} ms ({n:,} callers)"
        )


def _run(
    url: str, root: Path, canonical: Path, args: argparse.Namespace, label: str, render: bool
) -> None:
    from sqlalchemy import select

    stores, _ = initialise(load_settings(root / "data", url))
    root.mkdir(parents=True, exist_ok=True)
    run_ingest(
        [canonical],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        patients = [
            dict(r)
            for r in conn.execute(
                select(p.c.mrn, p.c.first_name, p.c.last_name, p.c.dob, p.c.zip).where(
                    p.c.address_line.is_not(None)
                )
            ).mappings()
        ]
    rng = random.Random(11)
    rng.shuffle(patients)
    first = _listed(stores, root, patients[: args.letters], "vendor-a")
    t = time.perf_counter()
    got = _letters(stores, root, first, args.workers, render)
    if render:
        print(
            f"letters on {label}: {got['letters']:,} PDFs ({got['credit_monitoring']:,} "
            f"with credit monitoring) in {time.perf_counter() - t:.1f} s: prepared in "
            f"{got['prepared']:.1f} s, "
            f"rendered on {args.workers} processes in {got['rendered']:.1f} s "
            f"({got['letters'] / got['rendered']:.0f} letters/s)"
        )
    rest = patients[args.letters :]
    for k, title in enumerate(("vendor-b", "vendor-c")):
        chunk = rest[k * 40_000 : (k + 1) * 40_000] or patients[:40_000]
        _letters(stores, root, _listed(stores, root, chunk, title), 1, render=False)
    _lookups(stores, patients, args.lookups, label)
    stores.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=30_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="medium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "h", replace(SynthSpec.size(args.size, seed=7), formats=("canonical",)))
        _run(
            f"sqlite:///{root / 's.db'}",
            root / "sqlite",
            root / "h" / "canonical",
            args,
            "SQLite",
            render=True,
        )
        import contextlib
        import uuid

        import psycopg

        name = f"phiwarden_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            _run(
                f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                root / "pg",
                root / "h" / "canonical",
                args,
                "PostgreSQL",
                render=False,
            )
        finally:
            with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
