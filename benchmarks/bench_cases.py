"""Casework at scale (figures printed, never asserted):

- N open identity-theft cases (default 10,000), each opened through the engine (alert,
  visit note, billing hold, five tasks, the 30-day timer): the time to open them;
- the case queue (``GET /api/cases`` in-process through httpx, bearer token) on random
  pages, unfiltered and filtered by state, assignee and due date: p50/p95/p99;
- the tick over those cases when nothing is due (what cron runs every minute) and when
  every timer is due at once (day 30 of all of them);
- the separation of one case with 50 encounters (each with an order, a lab result, a
  prescription, a registration, a charge and a payer payment).

Both stores by default (``make bench``): SQLite, then a scratch database on the local
PostgreSQL server (dropped afterwards); ``--database sqlite|postgres`` runs one.

    .venv/bin/python benchmarks/bench_cases.py [--cases 10000] [--jobs 1]
        [--database sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from phiwarden.cases import actions, documents, theft, transition
from phiwarden.cases.tick import tick
from phiwarden.config import load_settings
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import case_documents
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user, issue_token

sys.path.insert(0, str(Path(__file__).parent))
from measure import scratch_database

T0 = datetime(2026, 12, 1, 9, 0)


def _pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms"


def _charts(stores: Stores, n: int, visits: int = 1) -> None:
    """``n`` synthetic patients, each with ``visits`` encounters on one account."""
    rows: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "patients",
            "encounters",
            "billing_accounts",
            "transactions",
            "orders",
            "lab_results",
            "prescriptions",
            "registrations",
        )
    }
    for i in range(n):
        pid = f"BP{i:07d}"
        rows["patients"].append(
            {
                "patient_id": pid,
                "mrn": f"B{i:07d}",
                "last_name": f"Synthetic{i}",
                "first_name": "Pat",
                "dob": date(1980, 1, 1) + timedelta(days=i % 9000),
                "sex": "F",
            }
        )
        rows["billing_accounts"].append(
            {"account_id": f"BA{i:07d}", "patient_id": pid, "status": "active", "balance": 900.0}
        )
        for v in range(visits):
            e = f"BE{i:07d}-{v:03d}"
            start = T0 - timedelta(days=40, hours=v)
            rows["encounters"].append({"encounter_id": e, "patient_id": pid, "start": start})
            rows["transactions"] += [
                {
                    "transaction_id": f"{e}-c",
                    "account_id": f"BA{i:07d}",
                    "encounter_id": e,
                    "kind": "charge",
                    "amount": 700.0,
                    "posted_at": start,
                },
                {
                    "transaction_id": f"{e}-p",
                    "account_id": f"BA{i:07d}",
                    "encounter_id": e,
                    "kind": "payer_payment",
                    "amount": -400.0,
                    "payer": "Synthetic Health Plan",
                    "posted_at": start + timedelta(days=9),
                },
            ]
            if visits > 1:
                rows["orders"].append(
                    {
                        "order_id": f"{e}-o",
                        "encounter_id": e,
                        "patient_id": pid,
                        "kind": "lab",
                        "ordered_at": start,
                    }
                )
                rows["lab_results"].append(
                    {
                        "result_id": f"{e}-l",
                        "order_id": f"{e}-o",
                        "patient_id": pid,
                        "test": "ABO/Rh",
                        "value": "B+",
                        "resulted_at": start,
                    }
                )
                rows["prescriptions"].append(
                    {
                        "prescription_id": f"{e}-rx",
                        "encounter_id": e,
                        "patient_id": pid,
                        "drug": "oxycodone",
                        "prescribed_at": start,
                    }
                )
                rows["registrations"].append(
                    {
                        "registration_id": f"{e}-r",
                        "encounter_id": e,
                        "patient_id": pid,
                        "mrn": f"B{i:07d}",
                        "registered_at": start,
                        "presented_sex": "M",
                    }
                )
    with stores.engine.begin() as conn:
        for name, found in rows.items():
            for k in range(0, len(found), 5000):
                if found[k : k + 5000]:
                    conn.execute(insert(domain_table(name)), found[k : k + 5000])


PEOPLE = [f"investigator{k}" for k in range(20)]


def _open(folder: Path, url: str, n: int, first: int, step: int) -> None:
    """Open cases ``first, first + step, ...`` below ``n`` through the engine (one
    process of ``--jobs``: case numbers are taken concurrently, as at a busy desk)."""
    stores, _ = initialise(load_settings(folder / "s", url))
    for i in range(first, n, step):
        opened = theft.allege(
            stores,
            victim_mrn=f"B{i:07d}",
            actor="bench",
            encounters=[f"BE{i:07d}-000"],
            accounts=[f"BA{i:07d}"],
            now=T0 + timedelta(seconds=i),
        )
        if i % 3 == 0:
            actions.assign(stores, opened.case_id, PEOPLE[i % 20], actor="bench", revision=None)
    stores.engine.dispose()


def scale(folder: Path, url: str, n: int, jobs: int = 1) -> None:
    """Open ``n`` cases (in ``jobs`` processes), time the queue and the tick."""
    from fastapi.testclient import TestClient

    stores, _ = initialise(load_settings(folder / "s", url))
    _charts(stores, n)
    started = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        for done in [pool.submit(_open, folder, url, n, k, jobs) for k in range(jobs)]:
            done.result()
    seconds = time.perf_counter() - started
    print(
        f"opened {n:,} cases in {seconds:.1f} s with {jobs} process(es) "
        f"({1000 * seconds * jobs / n:.1f} ms each, with alert, note, hold, 5 tasks, timer)"
    )
    add_user(stores.engine, "po", "privacy_officer", "correct horse battery")
    token = issue_token(stores.engine, "po")[1]
    rng = random.Random(5)
    with TestClient(create_app(stores, tick_seconds=None)) as client:
        h = {"Authorization": f"Bearer {token}"}
        for label, params in (
            ("unfiltered", lambda: {"offset": rng.randrange(0, n - 50)}),
            ("state=alleged", lambda: {"state": "alleged", "offset": rng.randrange(0, n // 2)}),
            ("assignee", lambda: {"assignee": rng.choice(PEOPLE)}),
            (
                "due before",
                lambda: {
                    "due_before": (T0 + timedelta(days=2, hours=rng.randrange(48))).isoformat()
                },
            ),
        ):
            times = []
            for _ in range(200):
                t = time.perf_counter()
                got = client.get("/api/cases", params=params(), headers=h)
                times.append(1000 * (time.perf_counter() - t))
                assert got.status_code == 200, got.text
            print(f"case queue ({label}, {n:,} cases): {_pct(times)}")
        times = []
        for _ in range(100):
            t = time.perf_counter()
            got = client.get(f"/api/cases/IT-2026-{rng.randrange(1, n):05d}", headers=h)
            times.append(1000 * (time.perf_counter() - t))
        print(f"one case (timeline, tasks, timers): {_pct(times)}")
    t = time.perf_counter()
    idle = tick(stores, T0 + timedelta(days=1))
    print(
        f"tick with nothing due over {n:,} cases: {1000 * (time.perf_counter() - t):.1f} ms "
        f"(fired {idle.fired})"
    )
    t = time.perf_counter()
    due = tick(stores, T0 + timedelta(days=31))
    seconds = time.perf_counter() - t
    print(
        f"tick with every timer due ({due.fired:,} fired, billing resumed on each): "
        f"{seconds:.1f} s ({1000 * seconds / max(1, due.fired):.2f} ms a timer)"
    )
    t = time.perf_counter()
    again = tick(stores, T0 + timedelta(days=31))
    print(f"the same tick again: {1000 * (time.perf_counter() - t):.1f} ms (fired {again.fired})")
    stores.engine.dispose()


def separation(folder: Path, url: str, visits: int = 50) -> None:
    """Time the separation (and its undo) of one case with ``visits`` encounters."""
    stores, _ = initialise(load_settings(folder / "sep", url))
    _charts(stores, 1, visits)
    encounters = [f"BE0000000-{v:03d}" for v in range(visits)]
    case_id = theft.allege(stores, victim_mrn="B0000000", actor="b", encounters=encounters).case_id
    rev = None
    for kind, content in (
        ("photo_id", case_documents.photo_id("Pat Synthetic0", date(1980, 1, 1))),
        ("affidavit", case_documents.affidavit("Pat Synthetic0", "2026-10-22")),
        ("police_report", case_documents.police_report("Pat Synthetic0", "2026-10-22")),
    ):
        rev = documents.upload(stores, case_id, kind, kind, content, actor="b", revision=rev)[
            "revision"
        ]
    po = {"actor": "b", "role": "privacy_officer"}
    rev = transition.fire(stores, case_id, "substantiate", revision=rev, **po)["revision"]
    t = time.perf_counter()
    after = transition.fire(
        stores, case_id, "separate", revision=rev, inputs={"offender": "unknown"}, **po
    )
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    transition.fire(
        stores, case_id, "undo_separation", revision=after["revision"], reason="bench", **po
    )
    undo = time.perf_counter() - t
    print(
        f"separation of a case with {visits} encounters (350 rows moved, refunds listed): "
        f"{1000 * seconds:.0f} ms; undo {1000 * undo:.0f} ms"
    )
    stores.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes opening the cases (the queue is timed alone)"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help="the store to measure; both (the default) runs SQLite, then PostgreSQL",
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            folder = Path(tmp) / kind
            print(f"store: {kind}", flush=True)
            (folder / "a").mkdir(parents=True)
            (folder / "b").mkdir(parents=True)
            with scratch_database(kind, folder / "a") as url:
                separation(folder / "a", url)
            with scratch_database(kind, folder / "b") as url:
                scale(folder / "b", url, args.cases, args.jobs)


if __name__ == "__main__":
    main()
