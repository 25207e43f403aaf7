"""Benchmark the IHE ATNA receiver: sustained TCP rate with nothing lost, then UDP and TLS.

    .venv/bin/python benchmarks/bench_atna.py [--seconds 60] [--rate 6000] [--clients 3]
                                              [--short-seconds 10]

Synthesises a small hospital, loads its users and patients into a SQLite store, starts
the receiver in a child process (TCP, TLS with a self-signed certificate, UDP; loopback
only), and sends its access events as ATNA messages from client processes, each event
resent under a fresh id per round so every message is distinct:

1. TCP (octet counting) from ``--clients`` connections at ``--rate`` messages/s in all
   for ``--seconds`` seconds (the target: at least 5,000/s for a minute, none lost);
2. UDP, then TLS, at the same rate for ``--short-seconds`` each.

Then it stops the receiver (SIGTERM: listeners close, the spool is flushed) and counts
the lake's events per transport against what was sent. Prints messages/s, lost counts,
time from the last message to the lake, and the receiver's peak RSS and CPU time.
Bounded: at most rate x seconds messages per phase.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow.compute as pc
import pyarrow.dataset as ds

from phiwarden.config import load_settings
from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.formats.syslog import octet_frame
from phiwarden.ingest.canonical import canonical_files
from phiwarden.ingest.run import run_ingest
from phiwarden.store.setup import initialise
from phiwarden.synth import generate
from phiwarden.synth.atna import messages, self_signed_certificate
from phiwarden.synth.spec import SynthSpec

RUNNER = """
import json, signal, sys, threading
from pathlib import Path
from phiwarden.config import load_settings
from phiwarden.store.setup import open_stores
from phiwarden.ingest.atna_server import AtnaReceiver, ReceiverOptions
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
options = ReceiverOptions(tcp_port=0, tls_port=0, udp_port=0, certfile=Path(sys.argv[2]),
                          keyfile=Path(sys.argv[3]), flush_seconds=2.0)
rx = AtnaReceiver(open_stores(load_settings(sys.argv[1], None)), options)
print(json.dumps(rx.start()), flush=True)
while not stop.wait(0.1):
    print(json.dumps(rx.stats.to_json()), flush=True)
print(json.dumps(rx.stop().to_json()), flush=True)
"""
ROUND = 2_000


def _client(
    kind: str,
    port: int,
    number: int,
    events_path: str,
    rate: float,
    seconds: float,
    cafile: str,
    result: Any,
) -> None:
    """One sender process: ``rate`` messages/s for ``seconds`` over one connection."""
    events = ds.dataset(events_path, partitioning="hive").to_table().drop_columns(["day"])
    events = events.cast(ACCESS_EVENTS.schema)
    limit = int(rate * seconds)
    sent = 0
    sock: socket.socket
    if kind == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    else:
        sock = socket.create_connection(("127.0.0.1", port))
        if kind == "tls":
            sock = ssl.create_default_context(cafile=cafile).wrap_socket(
                sock, server_hostname="localhost"
            )
    start = time.monotonic()
    round_no = 0
    while sent < limit and time.monotonic() - start < seconds:
        offset = (round_no * ROUND) % max(1, events.num_rows - ROUND)
        batch = messages(events.slice(offset, ROUND), id_prefix=f"{kind}-c{number}r{round_no}-")
        round_no += 1
        for i in range(0, len(batch), 20):
            chunk = batch[i : i + 20][: limit - sent]
            if not chunk:
                break
            if kind == "udp":
                for payload in chunk:
                    sock.sendto(payload, ("127.0.0.1", port))
            else:
                sock.sendall(b"".join(octet_frame(m) for m in chunk))
            sent += len(chunk)
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    elapsed = time.monotonic() - start
    if kind != "udp":  # graceful close: returns once the receiver has read every frame
        if isinstance(sock, ssl.SSLSocket):
            sock = sock.unwrap()
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            continue
    sock.close()
    result.put((sent, elapsed))


class Receiver:
    """The receiver child process: its ports, latest stats, and sampled peak RSS."""

    def __init__(self, data_dir: Path, certfile: Path, keyfile: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(data_dir), str(certfile), str(keyfile)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.ports: dict[str, int] = json.loads(self.proc.stdout.readline())
        self.stats: dict[str, Any] = {"accepted": 0, "loaded": 0}
        self.peak_rss: dict[str, int] = {}  # listener and drainer processes
        self.cpu: dict[int, float] = {}
        self._ps = psutil.Process(self.proc.pid)
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stats = json.loads(line)
            try:
                for n, proc in enumerate([self._ps, *self._ps.children()]):
                    role = "listener" if n == 0 else "drainer"
                    self.peak_rss[role] = max(self.peak_rss.get(role, 0), proc.memory_info().rss)
                    times = proc.cpu_times()
                    self.cpu[proc.pid] = times.user + times.system
            except psutil.Error:
                continue

    def wait_for(self, key: str, value: int, timeout: float = 120) -> float:
        """Seconds until stats[key] reaches value."""
        start = time.monotonic()
        while self.stats.get(key, 0) < value and time.monotonic() - start < timeout:
            time.sleep(0.02)
        return time.monotonic() - start

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=300)
        time.sleep(0.2)
        return self.stats


def _phase(
    kind: str,
    receiver: Receiver,
    clients: int,
    rate: float,
    seconds: float,
    events_path: Path,
    cafile: Path,
) -> tuple[int, float]:
    ctx = mp.get_context("fork")
    result = ctx.Queue()
    procs = [
        ctx.Process(
            target=_client,
            args=(
                kind,
                receiver.ports[kind],
                n,
                str(events_path),
                rate / clients,
                seconds,
                str(cafile),
                result,
            ),
        )
        for n in range(clients)
    ]
    for proc in procs:
        proc.start()
    outcomes = [result.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(s for s, _ in outcomes), max(e for _, e in outcomes)


def _lake_counts(lake_dir: Path) -> dict[str, int]:
    ids = ds.dataset(lake_dir / "access_events", partitioning="hive").to_table(
        columns=["event_id"]
    )[0]
    kinds = pc.utf8_slice_codeunits(ids, 0, 3)
    counts = pc.value_counts(kinds).to_pylist()
    total = pc.count_distinct(ids).as_py()
    return {**{c["values"]: c["counts"] for c in counts}, "distinct": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--short-seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=6000)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-atna-") as tmp:
        root = Path(tmp)
        generate(
            root / "h", SynthSpec(patients=2000, workforce=200, days=7, formats=("canonical",))
        )
        canonical = root / "h" / "canonical"
        settings = load_settings(root / "data", None)
        stores, _ = initialise(settings)
        needed = {"facilities", "departments", "workforce", "patients"}
        run_ingest(
            [p for p in canonical_files(canonical) if p.stem in needed],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=settings.lake_dir,
            fmt="csv",
        )
        certfile, keyfile = self_signed_certificate(root)
        receiver = Receiver(settings.data_dir, certfile, keyfile)
        sent: dict[str, int] = {}
        print(f"receiver pid {receiver.proc.pid} ports {receiver.ports}")
        plan = [
            ("tcp", args.clients, args.seconds),
            ("udp", 1, args.short_seconds),
            ("tls", min(2, args.clients), args.short_seconds),
        ]
        for kind, clients, seconds in plan:
            before = receiver.stats.get("accepted", 0)
            count, elapsed = _phase(
                kind, receiver, clients, args.rate, seconds, canonical / "access_events", certfile
            )
            receiver.wait_for("accepted", before + count, timeout=5 if kind == "udp" else 120)
            lag = receiver.wait_for("loaded", receiver.stats.get("accepted", 0), timeout=60)
            sent[kind] = count
            print(
                f"{kind.upper():>4}: sent {count:,} in {elapsed:.1f} s from {clients} "
                f"client(s) = {count / elapsed:,.0f} msg/s offered; accepted "
                f"{receiver.stats['accepted'] - before:,}; lake caught up {lag:.1f} s later"
            )
        final = receiver.stop()
        counts = _lake_counts(settings.lake_dir)
        for kind, count in sent.items():
            in_lake = counts.get(kind, 0)
            print(f"{kind.upper():>4}: in lake {in_lake:,} of {count:,}, lost {count - in_lake:,}")
        print(f"lake: {counts['distinct']:,} distinct events; receiver stats {final}")
        rss = ", ".join(f"{k} {v / 2**20:,.0f} MiB" for k, v in receiver.peak_rss.items())
        print(f"receiver peak RSS: {rss}; CPU {sum(receiver.cpu.values()):,.1f} s in all")


if __name__ == "__main__":
    main()
