"""The ATNA receiver: TCP, TLS and UDP into the lake; the spool survives a SIGKILL."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.formats.syslog import octet_frame
from phiwarden.ingest import spool
from phiwarden.ingest.atna import load_segment
from phiwarden.ingest.atna_server import AtnaReceiver, ReceiverOptions, run_receiver
from phiwarden.ingest.canonical import canonical_files
from phiwarden.ingest.run import run_ingest
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores
from phiwarden.synth.atna import messages, self_signed_certificate, send_tcp, send_udp

RUNNER = """
import json, sys, time
from phiwarden.config import load_settings
from phiwarden.store.setup import open_stores
from phiwarden.ingest.atna_server import AtnaReceiver, ReceiverOptions
rx = AtnaReceiver(open_stores(load_settings(sys.argv[1], sys.argv[2])),
                  ReceiverOptions(tcp_port=0, flush_seconds=float(sys.argv[3])))
print(json.dumps(rx.start()), flush=True)
while True:
    print(json.dumps({"accepted": rx.stats.accepted, "loaded": rx.stats.loaded}), flush=True)
    time.sleep(0.01)
"""


@pytest.fixture
def events(small_hospital: Path) -> pa.Table:
    """The small hospital's access events, canonical typed."""
    table = ds.dataset(small_hospital / "canonical" / "access_events", partitioning="hive")
    return table.to_table().drop_columns(["day"]).cast(ACCESS_EVENTS.schema)


@pytest.fixture
def loaded(stores: Stores, small_hospital: Path) -> Stores:
    """Stores holding the tables access events refer to (users and patients)."""
    needed = {"facilities", "departments", "workforce", "patients"}
    files = [p for p in canonical_files(small_hospital / "canonical") if p.stem in needed]
    run_ingest(
        files,
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        fmt="csv",
    )
    return stores


def _lake_ids(stores: Stores) -> list[str]:
    root = stores.settings.lake_dir / "access_events"
    if not root.exists():
        return []
    ids: list[str] = (
        ds.dataset(root, partitioning="hive").to_table(columns=["event_id"])[0].to_pylist()
    )
    return ids


def _wait(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_tcp_tls_and_udp_reach_the_lake(loaded: Stores, events: pa.Table, tmp_path: Path) -> None:
    certfile, keyfile = self_signed_certificate(tmp_path)
    payloads = messages(events.slice(0, 1500))
    client = ssl.create_default_context(cafile=certfile)
    client.load_cert_chain(certfile, keyfile)  # mutual TLS, as an IHE secure node
    options = ReceiverOptions(
        tcp_port=0,
        tls_port=0,
        udp_port=0,
        certfile=certfile,
        keyfile=keyfile,
        client_cafile=certfile,
        flush_seconds=0.3,
    )
    with AtnaReceiver(loaded, options) as receiver:
        ports = receiver.ports
        senders = [
            threading.Thread(target=send_tcp, args=("127.0.0.1", ports["tcp"], payloads[:500])),
            threading.Thread(
                target=send_tcp,
                args=("127.0.0.1", ports["tls"], payloads[500:1000]),
                kwargs={"ssl_context": client},
            ),
        ]
        for sender in senders:
            sender.start()
        send_udp("127.0.0.1", ports["udp"], payloads[1000:], rate=5000)
        for sender in senders:
            sender.join()
        _wait(lambda: receiver.stats.accepted == 1500)
        _send_without_client_certificate(ports["tls"], certfile, payloads[0])
        time.sleep(0.2)
    stats = receiver.stats
    assert stats.accepted == 1500  # the node without a certificate was refused
    assert stats.loaded == 1500 and stats.quarantined == 0
    assert sorted(_lake_ids(loaded)) == sorted(events.column("event_id").to_pylist()[:1500])
    assert not list((loaded.settings.spool_dir / "atna").glob("*.seg"))


def _send_without_client_certificate(port: int, certfile: Path, payload: bytes) -> None:
    context = ssl.create_default_context(cafile=certfile)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                sock.sendall(octet_frame(payload))
                assert sock.recv(1) == b""
        except (ssl.SSLError, ConnectionError):
            return  # refused during or right after the handshake


def test_framing_errors_and_bad_messages_are_quarantined(loaded: Stores, events: pa.Table) -> None:
    good = messages(events.slice(0, 2))
    with AtnaReceiver(loaded, ReceiverOptions(tcp_port=0, flush_seconds=0.2)) as receiver:
        port = receiver.ports["tcp"]
        send_tcp("127.0.0.1", port, [good[0], b"<85>1 - h a - - - <AuditMessage>"])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(octet_frame(good[1]) + b"99999999999 x")
            _wait(lambda: receiver.stats.framing_errors == 1)
    stats = receiver.stats
    assert (stats.accepted, stats.loaded, stats.quarantined) == (3, 2, 2)
    with loaded.engine.connect() as conn:
        rows = repo.list_quarantine(conn)
    assert {r["source"] for r in rows} == {"atna-receiver"}
    assert all(r["location"].startswith("spool ") and " byte " in r["location"] for r in rows)
    assert {r["reason"].split(":")[0] for r in rows} == {
        "bad octet count",
        "the payload is not well-formed XML",
    }


def test_replay_after_crash_between_lake_and_checkpoint_writes_nothing_twice(
    loaded: Stores, events: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = loaded.settings.spool_dir / "atna"
    folder.mkdir(parents=True)
    writer = spool.SpoolWriter(folder)
    payloads = messages(events.slice(0, 40))
    writer.append([(spool.KIND_MESSAGE, m) for m in payloads])
    writer.append([(spool.KIND_MESSAGE, b"not syslog")])
    open_path = next(folder.glob("*.open"))
    with open_path.open("ab") as fh:  # a torn, never-acknowledged last write
        fh.write(spool.encode(spool.KIND_MESSAGE, payloads[0])[:30])
    [sealed] = spool.recover(folder)
    assert not spool.read_segment(sealed).damaged
    monkeypatch.setattr(spool, "mark_done", lambda path: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        load_segment(loaded, sealed)
    assert len(_lake_ids(loaded)) == 40 and sealed.exists()
    monkeypatch.undo()
    counts = load_segment(loaded, sealed)
    assert (counts["loaded"], counts["duplicates_skipped"]) == (0, 40)
    assert len(_lake_ids(loaded)) == 40 and not sealed.exists()
    with loaded.engine.connect() as conn:
        assert len(repo.list_quarantine(conn)) == 1


def test_one_receiver_per_spool(loaded: Stores) -> None:
    options = ReceiverOptions(udp_port=0)
    with AtnaReceiver(loaded, options), pytest.raises(spool.SpoolBusyError):
        AtnaReceiver(loaded, options).start()


def test_sigkill_after_accepting_loses_nothing_and_duplicates_nothing(
    loaded: Stores, events: pa.Table
) -> None:
    settings = loaded.settings
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(settings.data_dir), settings.database_url, "1.0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    status: dict[str, int] = {"accepted": 0, "loaded": 0}
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["tcp"]

        def follow() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                status.update(json.loads(line))

        threading.Thread(target=follow, daemon=True).start()
        payloads = messages(events.slice(0, 3000))
        send_tcp("127.0.0.1", port, payloads[:1500])
        _wait(lambda: status["loaded"] > 0)  # part of it in the lake, the rest spooled
        send_tcp("127.0.0.1", port, payloads[1500:])
        _wait(lambda: status["accepted"] == 3000)  # then killed at once: the rest is spooled
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = len(_lake_ids(loaded))
    assert before > 0
    with AtnaReceiver(loaded, ReceiverOptions(udp_port=0)) as receiver:
        if before < 3000:  # the usual case: the last segment was still open
            assert receiver.stats.recovered_segments >= 1
    ids = _lake_ids(loaded)
    assert len(ids) == 3000 and sorted(ids) == sorted(events.column("event_id").to_pylist()[:3000])


def test_run_receiver_stops_on_its_event(loaded: Stores, events: pa.Table) -> None:
    stop, ready = threading.Event(), threading.Event()
    ports: dict[str, int] = {}
    result: list[object] = []

    def on_ready(bound: Mapping[str, int]) -> None:
        ports.update(bound)
        ready.set()

    def run() -> None:
        options = ReceiverOptions(tcp_port=0, flush_seconds=5)
        result.append(run_receiver(loaded, options, stop_event=stop, on_ready=on_ready))

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(20)
    send_tcp("127.0.0.1", ports["tcp"], messages(events.slice(0, 100)))
    stop.set()
    thread.join(30)
    [stats] = result
    assert stats.accepted == stats.loaded == 100  # type: ignore[attr-defined]
    assert len(_lake_ids(loaded)) == 100
