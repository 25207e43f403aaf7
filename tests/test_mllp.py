"""MLLP listener: ACK per stored message, NAK with a reason, concurrency, graceful stop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from phiwarden.ingest import canonical
from phiwarden.ingest.hl7_batch import Inbound
from phiwarden.ingest.hl7_er7 import decode, parse_message, split_messages
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.mllp import Handler, MllpFramer, frame, run_listener, serve_mllp
from phiwarden.ingest.report import IngestReport
from phiwarden.store.schema import DOMAIN_TABLES
from phiwarden.store.setup import Stores
from phiwarden.synth.hl7 import write_hl7


@pytest.fixture(scope="module")
def feed(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The small hospital's ADT messages in file order (MPI first)."""
    out = tmp_path_factory.mktemp("mllp_feed")
    write_hl7(small_hospital / "canonical", out)
    messages: list[bytes] = []
    for path in sorted(out.iterdir()):
        with path.open("rb") as fh:
            messages += [m.data for m in split_messages(fh)]
    return messages


@dataclass
class Listener:
    """A running ``run_listener`` in a thread."""

    port: int
    stop: threading.Event
    thread: threading.Thread
    result: list[IngestReport] = field(default_factory=list)

    def close(self) -> IngestReport:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive()
        return self.result[0]


@pytest.fixture
def listener(stores: Stores, small_hospital: Path) -> Iterator[Listener]:
    loader = Loader(stores.engine, stores.protector, stores.settings.lake_dir)
    for table in ("facilities", "departments", "workforce"):
        canonical.load_file(loader, small_hospital / "canonical" / f"{table}.csv")
    ready, stop, port = threading.Event(), threading.Event(), [0]
    result: list[IngestReport] = []

    def run() -> None:
        result.append(run_listener(stores, "127.0.0.1", 0, stop_event=stop, ready=on_ready))

    def on_ready(p: int) -> None:
        port[0] = p
        ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    running = Listener(port[0], stop, thread, result)
    yield running
    if thread.is_alive():
        running.close()


def exchange(port: int, messages: Sequence[bytes], *, pipelined: bool = False) -> list[bytes]:
    """Send messages on one connection; returns the acknowledgements in order."""
    framer, acks = MllpFramer(), list[bytes]()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if pipelined:
            sock.sendall(b"".join(frame(m) for m in messages))
        for m in messages:
            if not pipelined:
                sock.sendall(frame(m))
            while len(acks) < (len(messages) if pipelined else messages.index(m) + 1):
                data = sock.recv(65536)
                assert data, "the listener closed the connection"
                acks += framer.feed(data)
    return acks


def msa(ack: bytes) -> list[str]:
    line = next(s for s in ack.decode().split("\r") if s.startswith("MSA|"))
    return line.split("|")


def control_id(message: bytes) -> str:
    return message.split(b"\r", 1)[0].decode().split("|")[9]


def test_ack_after_store_and_nak_with_reason(
    listener: Listener, stores: Stores, feed: list[bytes]
) -> None:
    a28 = feed[0]
    visit = next(m for m in feed if b"|ADT^A04^" in m[:120])
    pid = parse_message(decode(visit)).first("PID")
    assert pid is not None
    patient = next(pid.comp(r) for r in pid.reps(3) if pid.comp(r, 5) == "PI")
    mpi = next(m for m in feed if f"~{patient}^".encode() in m and b"|ADT^A28^" in m[:120])
    unknown_doctor = visit.replace(b"|U0", b"|ZZ", 1).replace(b"PHW", b"PHX", 1)
    bad = [b"not hl7 at all", a28.replace(b"^^^PHIWARDEN^MR", b"^^^PHIWARDEN^XX")]
    acks = exchange(listener.port, [a28, mpi, visit, *bad, unknown_doctor])
    # a doctor missing from the directory is a gap, not a rejection: the visit is stored
    assert [msa(a)[1] for a in acks] == ["AA", "AA", "AA", "AR", "AE", "AA"]
    assert [msa(a)[2] for a in acks[:3]] == [control_id(m) for m in (a28, mpi, visit)]
    assert "MSH" in msa(acks[3])[3] and "medical record number" in msa(acks[4])[3]
    patients = DOMAIN_TABLES["patients"]
    with stores.engine.connect() as conn:  # stored before the ACK came back
        assert conn.execute(select(patients.c.mrn).where(patients.c.patient_id == patient)).all()
    report = listener.close()
    assert report.loaded["registrations"] == 1 and report.quarantined >= 2
    assert sum(n for (_, column), n in report.gaps.items() if column.endswith("user_id")) >= 1


def test_concurrent_and_pipelined_connections(
    listener: Listener, stores: Stores, feed: list[bytes]
) -> None:
    mpi = [m for m in feed if b"|ADT^A28^" in m[:120]][:80]
    shares = [mpi[i::4] for i in range(4)]
    results: list[list[bytes]] = [[] for _ in shares]
    threads = [
        threading.Thread(
            target=lambda i=i: results[i].extend(
                exchange(listener.port, shares[i], pipelined=i % 2 == 0)
            )
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for share, acks in zip(shares, results, strict=True):
        assert [msa(a)[1:3] for a in acks] == [["AA", control_id(m)] for m in share]
    report = listener.close()
    assert report.loaded["patients"] == 80


def _serve(
    handler: Handler, started: threading.Event
) -> tuple[int, threading.Thread, list[asyncio.AbstractEventLoop], list[asyncio.Event]]:
    port: list[int] = []
    loops: list[asyncio.AbstractEventLoop] = []
    stops: list[asyncio.Event] = []

    def ready(p: int) -> None:
        port.append(p)
        started.set()

    async def main() -> None:
        stops.append(asyncio.Event())
        loops.append(asyncio.get_running_loop())
        await serve_mllp("127.0.0.1", 0, handler, stop=stops[0], ready=ready)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    return port[0], thread, loops, stops


def test_graceful_stop_answers_messages_in_flight() -> None:
    busy = threading.Event()

    def slow(messages: Sequence[Inbound]) -> list[bytes]:
        busy.set()
        time.sleep(0.3)
        return [b"MSA|AA|" + m.data for m in messages]

    port, thread, loops, stops = _serve(slow, threading.Event())
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"".join(frame(b"m%d" % i) for i in range(5)))
    assert busy.wait(5)
    time.sleep(0.05)
    loops[0].call_soon_threadsafe(stops[0].set)
    framer, acks = MllpFramer(), list[bytes]()
    while data := sock.recv(65536):
        acks += framer.feed(data)
    thread.join(10)
    assert acks == [b"MSA|AA|m%d" % i for i in range(5)]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_no_ack_when_storing_fails() -> None:
    def broken(messages: Sequence[Inbound]) -> list[bytes]:
        raise RuntimeError("database down")

    port, thread, loops, stops = _serve(broken, threading.Event())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(frame(b"MSH|^~\\&|A"))
        assert sock.recv(65536) == b""  # closed without an ACK: the sender will resend
    loops[0].call_soon_threadsafe(stops[0].set)
    thread.join(10)


def test_framer_cuts_frames_across_reads() -> None:
    framer = MllpFramer(max_size=100)
    stream = b"noise\x0bfirst\x1c\r\x0bsec" + b"ond\x1c" + b"\r\x0bpart\x0bthird\x1c\r"
    got = [m for i in range(0, len(stream), 3) for m in framer.feed(stream[i : i + 3])]
    assert got == [b"first", b"second", b"third"]
    with pytest.raises(ValueError):
        framer.feed(b"\x0b" + b"x" * 200)
