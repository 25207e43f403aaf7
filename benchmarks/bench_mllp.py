"""Measure HL7 v2 ADT ingest: from files, and over MLLP with an ACK for every message.

Synthesises a hospital (canonical tables, then the ADT feed with ``write_hl7``), loads
its facilities, departments and workforce (which ADT does not carry), then:

1. file ingest: every ``adt_*.hl7`` file through ``phiwarden.ingest.hl7v2`` (messages/s);
2. MLLP: starts ``run_listener`` on a free port in a thread and sends the same messages
   again into a fresh store from N client connections (each waits for the ACK of a
   message before sending the next, or keeps ``--window`` messages in flight), counts
   the ACKs (MSA|AA) and prints messages/s.

The MPI messages (A28/A40) are sent first, then the visits, so that registrations find
their patients. File ingest uses SQLite; ``--database-url`` (an empty PostgreSQL
database) runs the MLLP part against PostgreSQL instead.

    .venv/bin/python benchmarks/bench_mllp.py --patients 2000 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

from phiwarden.config import load_settings
from phiwarden.ingest import canonical, hl7v2
from phiwarden.ingest.hl7_er7 import split_messages
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.mllp import MllpFramer, frame, run_listener
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import generate
from phiwarden.synth.hl7 import write_hl7
from phiwarden.synth.spec import SynthSpec

REFERENCE_TABLES = ("facilities", "departments", "workforce")


def _stores(root: Path, name: str, url: str | None) -> Stores:
    data = root / name
    stores, _ = initialise(load_settings(data, url or f"sqlite:///{data / 'store.db'}"))
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    for table in REFERENCE_TABLES:
        canonical.load_file(loader, root / "hospital" / "canonical" / f"{table}.csv")
    return stores


def _messages(folder: Path) -> list[bytes]:
    out: list[bytes] = []
    for path in hl7v2.hl7_files(folder):
        with path.open("rb") as fh:
            out += [m.data for m in split_messages(fh)]
    return out


async def _client(port: int, messages: list[bytes], window: int) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framer, ok, bad, sent, answered = MllpFramer(), 0, 0, 0, 0
    while answered < len(messages):
        while sent < len(messages) and sent - answered < window:
            writer.write(frame(messages[sent]))
            sent += 1
        await writer.drain()
        for ack in framer.feed(await reader.read(1 << 16)):
            answered += 1
            ok, bad = (ok + 1, bad) if b"MSA|AA|" in ack else (ok, bad + 1)
    writer.close()
    return ok, bad


async def _send_all(
    port: int, phases: list[list[bytes]], connections: int, window: int
) -> tuple[int, int]:
    ok = bad = 0
    for phase in phases:
        shares = [phase[i::connections] for i in range(connections)]
        results = await asyncio.gather(*(_client(port, s, window) for s in shares if s))
        ok += sum(r[0] for r in results)
        bad += sum(r[1] for r in results)
    return ok, bad


def _client_process(
    port: int,
    phases: list[list[bytes]],
    connections: int,
    window: int,
    out: multiprocessing.Queue[tuple[int, int, float]],
) -> None:
    """The senders, in their own process (a real feed does not share the listener's GIL)."""
    started = time.perf_counter()
    ok, bad = asyncio.run(_send_all(port, phases, connections, window))
    out.put((ok, bad, time.perf_counter() - started))


def _mllp(stores: Stores, messages: list[bytes], connections: int, window: int) -> dict[str, float]:
    stop, ready, port = threading.Event(), threading.Event(), [0]

    def on_ready(p: int) -> None:
        port[0] = p
        ready.set()

    thread = threading.Thread(
        target=run_listener,
        args=(stores, "127.0.0.1", 0),
        kwargs={"stop_event": stop, "ready": on_ready},
        daemon=True,
    )
    thread.start()
    ready.wait(30)
    mpi = [m for m in messages if b"|ADT^A28" in m[:200] or b"|ADT^A40" in m[:200]]
    first = set(mpi)  # the MPI first, then the visits that refer to it
    visits = [m for m in messages if m not in first]
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[int, int, float]] = ctx.Queue()
    sender = ctx.Process(
        target=_client_process, args=(port[0], [mpi, visits], connections, window, results)
    )
    sender.start()
    ok, bad, seconds = results.get()
    sender.join()
    stop.set()
    thread.join(30)
    return {
        "messages": len(messages),
        "acks_aa": ok,
        "naks": bad,
        "seconds": round(seconds, 2),
        "messages_per_s": round(len(messages) / seconds, 1),
    }


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--workforce", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--window", type=int, default=1, help="messages in flight per connection")
    ap.add_argument("--database-url", default=None, help="an empty database (default SQLite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_mllp_") as tmp:
        root = Path(tmp)
        spec = SynthSpec(
            patients=args.patients,
            workforce=args.workforce,
            days=args.days,
            seed=7,
            formats=("canonical",),
        )
        generate(root / "hospital", spec)
        written = write_hl7(root / "hospital" / "canonical", root / "hospital" / "hl7")
        messages = _messages(root / "hospital" / "hl7")
        files_store = _stores(root, "files", None)
        loader = Loader(files_store.engine, files_store.protector, files_store.settings.lake_dir)
        started = time.perf_counter()
        hl7v2.load(loader, root / "hospital" / "hl7")
        file_seconds = time.perf_counter() - started
        files_store.engine.dispose()
        mllp_store = _stores(root, "mllp", args.database_url)
        mllp = _mllp(mllp_store, messages, args.connections, args.window)
        with mllp_store.engine.connect() as conn:
            counts = {k: v for k, v in repo.table_counts(conn).items() if v}
        print(
            json.dumps(
                {
                    "hospital": {"patients": args.patients, "messages": written},
                    "file_ingest": {
                        "seconds": round(file_seconds, 2),
                        "messages_per_s": round(written / file_seconds, 1),
                        "quarantined": loader.report.quarantined,
                    },
                    "mllp": {"connections": args.connections, "window": args.window, **mllp},
                    "store_after_mllp": counts,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
