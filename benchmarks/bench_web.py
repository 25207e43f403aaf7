"""The web surfaces under load: the alert queue with 100k alerts, and the screening
endpoint at a steady 100 requests per second (figures printed, never asserted).

- Queue: 100,000 alerts in the store; random pages of ``GET /api/alerts`` (bearer token)
  and of the ``/alerts`` page (signed-in session) in each sort order, with and without a
  status filter, in-process through httpx.
- Screening: ``POST /api/screen`` against an index of N persons (default 100k) served by
  ``phiwarden serve`` in its own process on loopback, requests sent at 100/s for 20 s
  from one asyncio event loop (an open loop: each request leaves at its own time).

Both stores by default (``make bench``): SQLite, then scratch databases on the local
PostgreSQL server (dropped afterwards); ``--database sqlite|postgres`` runs one.

    .venv/bin/python benchmarks/bench_web.py [--alerts 100000] [--persons 100000]
        [--database sqlite|postgres|both] [--workers N] [--skip-queue] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from phiwarden.config import load_settings
from phiwarden.monitor.queue import ALERT_ORDERS, ALERT_STATUSES
from phiwarden.store.monitor_tables import alerts, cases, monitor_runs
from phiwarden.store.setup import initialise
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user, issue_token

sys.path.insert(0, str(Path(__file__).parent))
from bench_screen import build, registration
from measure import scratch_database

PASSWORD = "correct horse battery"
PORT = 8799
#: seconds between the first answer of /health and the load: every worker has started
SETTLE_SECONDS = 3.0
#: more undecided alerts than decided ones, as in a working queue
STATUSES = [*ALERT_STATUSES, "new", "new"]


def _pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms"


def queue(folder: Path, n: int, url: str) -> None:
    """Fill the store with ``n`` alerts and time random pages of the queue."""
    from fastapi.testclient import TestClient

    settings = load_settings(folder / "q", url)
    stores, _ = initialise(settings)
    rng = random.Random(4)
    users = [f"U{i:05d}" for i in range(max(1, n // 20))]
    now = datetime(2026, 1, 1)
    with stores.engine.begin() as conn:
        run = conn.execute(
            insert(monitor_runs).values(
                window_start=date(2025, 1, 1),
                window_end=date(2025, 12, 31),
                engine="duckdb",
                started_at=now,
                finished_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(cases),
            [
                {
                    "case_id": f"C{u}",
                    "user_id": u,
                    "kind": "access",
                    "status": "open",
                    "opened_at": now,
                }
                for u in users
            ],
        )
        rows = []
        for i in range(n):
            u = users[i % len(users)]
            start = date(2025, 1, 1) + timedelta(days=i // len(users))
            rows.append(
                {
                    "alert_id": f"A{i:08d}",
                    "run_id": run,
                    "case_id": f"C{u}",
                    "user_id": u,
                    "window_start": start,
                    "window_end": start,
                    "score": rng.uniform(1, 60),
                    "status": rng.choice(STATUSES),
                    "reasons": [{"code": "volume", "title": "Unusual volume", "evidence": ["x"]}],
                    "patient_ids": ["P1"],
                    "accesses": rng.randint(1, 500),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(alerts), rows)
                rows = []
        if rows:
            conn.execute(insert(alerts), rows)
    add_user(stores.engine, "ivy", "investigator", PASSWORD)
    token = issue_token(stores.engine, "ivy")[1]
    client = TestClient(create_app(stores))
    api: list[float] = []
    for _ in range(200):
        offset = rng.randrange(0, n - 50)
        t = time.perf_counter()
        got = client.get(
            f"/api/alerts?limit=50&offset={offset}", headers={"Authorization": f"Bearer {token}"}
        )
        api.append((time.perf_counter() - t) * 1000)
        assert got.status_code == 200
    import re

    form = client.get("/signin").text
    pre = re.search(r'name="pre" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    client.post("/signin", data={"name": "ivy", "password": PASSWORD, "pre": pre})
    pages: dict[str, list[float]] = {sort: [] for sort in ALERT_ORDERS}
    for sort, times in pages.items():
        for _ in range(100):
            page = rng.randrange(1, n // 50)
            status = rng.choice(["", "new"])
            t = time.perf_counter()
            got = client.get(f"/alerts?page={page}&status={status}&sort={sort}")
            times.append((time.perf_counter() - t) * 1000)
            assert got.status_code == 200
    print(f"alert queue with {n:,} alerts ({settings.database_url.split(':')[0]}):")
    print(f"  GET /api/alerts (score order) {_pct(api)}")
    for sort, times in pages.items():
        print(f"  /alerts page, sort={sort} {_pct(times)}")
    stores.engine.dispose()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from psutil."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system
    return total


async def _open_loop(
    token: str, bodies: list[dict[str, object]], rate: float
) -> tuple[list[float], int, float]:
    """Send each body at its own time (an open loop: a slow answer does not delay the next
    request); the latency of each (in sending order), the errors, and the seconds it took.

    The requests are pre-encoded HTTP/1.1 written on keep-alive sockets from one event
    loop: a Python HTTP client would spend as much CPU as the server does on this two-core
    machine, and its own scheduling delays would be counted as the server's latency.
    """
    encoded = []
    for body in bodies:
        payload = json.dumps(body).encode()
        head = (
            f"POST /api/screen HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        encoded.append(head.encode() + payload)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", PORT))
    latencies: list[float] = [0.0] * len(bodies)
    errors = 0

    async def send(i: int, request: bytes) -> None:
        nonlocal errors
        t = time.perf_counter()
        reader, writer = await idle.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        latencies[i] = (time.perf_counter() - t) * 1000
        errors += not head.startswith(b"HTTP/1.1 200")
        idle.put_nowait((reader, writer))

    start = time.perf_counter()
    tasks = []
    for i, request in enumerate(encoded):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    return latencies, errors, elapsed


def screening(
    folder: Path,
    persons: int,
    url: str,
    workers: int = 1,
    rate: float = 100.0,
    seconds: float = 20.0,
) -> None:
    """Serve the app with ``phiwarden serve``; screen registrations at ``rate`` per second."""
    (folder / "s").mkdir(exist_ok=True)
    stores, rows = build(folder / "s", persons, url)
    add_user(stores.engine, "desk", "registrar", PASSWORD)  # type: ignore[attr-defined]
    token = issue_token(stores.engine, "desk")[1]  # type: ignore[attr-defined]
    # the server runs as deployed, `phiwarden serve` in its own process, so the load
    # generator here does not share its interpreter
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("phiwarden")),
            "--data-dir",
            str(stores.settings.data_dir),  # type: ignore[attr-defined]
            "--database-url",
            url,
            "serve",
            "--port",
            str(PORT),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        server.kill()
        raise SystemExit("phiwarden serve did not start within 30 s")
    # /health answers once one worker is up; the others are still importing and warming
    # up (measured: load sent at once met p95 138 ms, three seconds later 23 ms)
    time.sleep(SETTLE_SECONDS)
    rng = random.Random(5)
    bodies = [
        registration(rows[rng.randrange(len(rows))]).model_dump(mode="json")
        for _ in range(int(rate * seconds))
    ]
    cpu = _cpu_seconds(server.pid)
    # this process holds the 100k persons it built: a full garbage collection here during
    # the loop paused the clock of every request in flight (all the slowest requests at
    # the same second of each run), so it is collected before and not during
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        latencies, errors, elapsed = asyncio.run(_open_loop(token, bodies, rate))
    finally:
        gc.enable()
        gc.unfreeze()
    cpu = _cpu_seconds(server.pid) - cpu
    server.terminate()
    print(
        f"screening endpoint against {persons:,} persons ({url.split(':')[0]}, "
        f"{workers} worker(s)): "
        f"{len(latencies)} requests in "
        f"{elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s), {errors} errors; {_pct(latencies)}; "
        f"server CPU {1000 * cpu / max(len(latencies), 1):.1f} ms per request"
    )
    # where the tail is: a fresh server's first requests, or spread over the run
    warm = int(rate)
    slowest = sorted(range(len(latencies)), key=latencies.__getitem__)[-max(1, warm // 5) :]
    print(
        f"  first second: max {max(latencies[:warm]):.1f} ms; after it: "
        f"{_pct(latencies[warm:])}; the {len(slowest)} slowest were sent at "
        + ", ".join(f"{i / rate:.1f}" for i in sorted(slowest))
        + " s"
    )
    server.wait(timeout=30)
    stores.engine.dispose()  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=100_000)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument(
        "--database",
        choices=["sqlite", "postgres", "both"],
        default="both",
        help="the store to measure; both (the default) runs SQLite, then PostgreSQL",
    )
    ap.add_argument(
        "--workers", type=int, default=2, help="phiwarden serve --workers (one per core)"
    )
    ap.add_argument("--skip-queue", action="store_true")
    ap.add_argument("--rate", type=float, default=100.0, help="screening requests per second")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_web_"))
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for kind in kinds:
        print(f"store: {kind}", flush=True)
        (folder / kind / "q").mkdir(parents=True)
        (folder / kind / "s").mkdir(parents=True)
        if not args.skip_queue:
            with scratch_database(kind, folder / kind / "q") as url:
                queue(folder / kind, args.alerts, url)
        with scratch_database(kind, folder / kind / "s") as url:
            screening(folder / kind, args.persons, url, args.workers, rate=args.rate)


if __name__ == "__main__":
    main()
