"""The IHE ATNA receiver: syslog over TCP, TLS (RFC 5425) and UDP (RFC 5426) into the lake.

Path of a message, and why nothing accepted is lost:

1. A listener (asyncio, one thread) cuts frames from the stream (``syslog.Framer``;
   octet counting or LF framing) or takes a datagram as one message.
2. It hands the raw frames to the :class:`GroupCommitter`, which appends what every
   connection has pending to the spool with one write and one fdatasync, then counts
   them as ``accepted``. A TCP/TLS connection reads its next bytes only after its
   frames are committed: that is the acknowledgement syslog over TCP can give.
3. Every ``flush_seconds`` the open segment is sealed, and the spool drainer (a child
   process) loads sealed segments with ``atna.load_segment``: events to the lake in
   batches keyed by segment and offset, bad messages to quarantine at
   ``spool <segment> byte <offset>``; only then is the segment deleted.
4. Stopping closes the listeners, reads what connections already sent, commits, seals,
   and lets the drainer load the rest. Starting first seals the segments a crash left
   open; the drainer loads them before anything new.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from phiwarden.config import Settings
from phiwarden.ingest import spool
from phiwarden.ingest.atna import configured_zone, load_segment
from phiwarden.ingest.syslog import Framer
from phiwarden.store.setup import Stores, open_stores

log = logging.getLogger(__name__)

READ_SIZE = 1 << 18
#: Asked for; Linux caps it at net.core.rmem_max (raise that for heavy UDP feeds).
UDP_BUFFER = 8 << 20
UDP_DRAIN_MAX = 4096
#: On stop, connections keep being read while bytes arrive within IDLE_CHECK seconds,
#: for at most STOP_GRACE seconds in all.
IDLE_CHECK = 0.25
STOP_GRACE = 3.0


@dataclass(frozen=True)
class ReceiverOptions:
    """Where to listen and how often to load the lake (port 0 picks a free port)."""

    host: str = "127.0.0.1"
    tcp_port: int | None = None
    tls_port: int | None = None
    udp_port: int | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    #: CA bundle that client certificates must chain to (IHE ATNA mutual TLS); None: any.
    client_cafile: Path | None = None
    flush_seconds: float = 2.0
    #: Zone that offset-aware EventDateTimes are converted to; None: PHIWARDEN_TIMEZONE.
    zone: tzinfo | None = None

    def __post_init__(self) -> None:
        if self.tcp_port is None and self.tls_port is None and self.udp_port is None:
            raise ValueError("give at least one of a TCP, TLS or UDP port to listen on")
        if self.tls_port is not None and self.certfile is None:
            raise ValueError("TLS needs the server certificate: give certfile (and keyfile)")
        if self.flush_seconds <= 0:
            raise ValueError(f"flush_seconds must be positive, got {self.flush_seconds}")

    def tls_context(self) -> ssl.SSLContext | None:
        """The server TLS context (TLS 1.2+), requiring client certificates if asked."""
        if self.certfile is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.certfile, self.keyfile)
        if self.client_cafile is not None:
            ctx.load_verify_locations(self.client_cafile)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


@dataclass
class ReceiverStats:
    """Counts of one receiver run (``accepted`` = durably spooled, the acknowledgement)."""

    accepted: int = 0
    loaded: int = 0
    quarantined: int = 0
    ignored: int = 0
    duplicates_skipped: int = 0
    framing_errors: int = 0
    connections: int = 0
    segments_flushed: int = 0
    recovered_segments: int = 0
    flush_errors: int = 0
    ports: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """Machine-readable counts."""
        return asdict(self)

    def add(self, counts: spool.Counts) -> None:
        """Add counts reported by the spool drainer."""
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)


class GroupCommitter:
    """Group commit on an asyncio loop: what every connection has pending, one fsync.

    A batch is whatever arrived while the previous write ran (no added delay); the
    write and fsync run in one I/O thread so the loop keeps reading meanwhile. The open
    segment is sealed once it is ``rotate`` seconds old (``on_sealed`` is then called)
    and when ``run`` ends. ``on_commit`` gets the number of message records made durable.
    """

    def __init__(
        self,
        writer: spool.SpoolWriter,
        rotate: float,
        *,
        on_commit: Callable[[int], None],
        on_sealed: Callable[[], None],
    ) -> None:
        self._writer = writer
        self._on_commit = on_commit
        self._rotate = rotate
        self._on_sealed = on_sealed
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atna-spool")
        self._pending: list[tuple[int, bytes]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._closing = False

    def submit(
        self, records: list[tuple[int, bytes]], *, ack: bool = True
    ) -> asyncio.Future[None] | None:
        """Queue records; the future (if asked for) completes once they are fsynced."""
        self._pending.extend(records)
        self._wake.set()
        if not ack:
            return None
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def close(self) -> None:
        """Commit what is pending, seal the segment and end ``run``."""
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        """Commit until ``close``; run it as a task on the loop that calls ``submit``."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._rotate / 4)
                self._wake.clear()
                if self._pending:
                    batch, waiters = self._pending, self._waiters
                    self._pending, self._waiters = [], []
                    try:
                        await loop.run_in_executor(self._io, self._writer.append, batch)
                    except OSError as exc:
                        log.error("cannot write the spool: %s", exc)
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_exception(exc)
                    else:
                        self._on_commit(sum(k == spool.KIND_MESSAGE for k, _ in batch))
                        for waiter in waiters:
                            if not waiter.done():
                                waiter.set_result(None)
                if self._closing and not self._pending:
                    break
                if self._writer.age >= self._rotate:
                    await self._seal(loop)
        finally:
            await self._seal(loop)
            self._io.shutdown(wait=True)

    async def _seal(self, loop: asyncio.AbstractEventLoop) -> None:
        if await loop.run_in_executor(self._io, self._writer.seal) is not None:
            self._on_sealed()


def _segment_loader(settings: Settings, zone: tzinfo | None) -> spool.LoadSegment:
    """Runs in the drainer process: open the stores there, return the segment loader."""
    return functools.partial(load_segment, open_stores(settings), zone=zone)


def _framing_record(reason: str, data: bytes) -> tuple[int, bytes]:
    return spool.KIND_FRAMING_ERROR, reason.encode() + b"\0" + data[:4096]


def _drain_datagrams(sock: socket.socket, committer: GroupCommitter) -> None:
    """Take every datagram waiting on the socket (RFC 5426: one message each).

    Draining per wake-up rather than one datagram per event keeps up with bursts.
    """
    records: list[tuple[int, bytes]] = []
    for _ in range(UDP_DRAIN_MAX):
        try:
            data = sock.recv(65535)
        except (BlockingIOError, InterruptedError):
            break
        except OSError as exc:
            log.warning("UDP receive failed: %s", exc)
            break
        records.append((spool.KIND_MESSAGE, data))
    if records:
        committer.submit(records, ack=False)


class AtnaReceiver:
    """Listeners, group commit and spool drainer; ``start()`` then ``stop()`` (or ``with``)."""

    def __init__(self, stores: Stores, options: ReceiverOptions) -> None:
        self.stores = stores
        self.options = options
        self.tls = options.tls_context()
        self.zone = options.zone if options.zone is not None else configured_zone()
        self.folder = stores.settings.spool_dir / "atna"
        self.stats = ReceiverStats()
        self._lock = spool.SpoolLock(self.folder)
        self._drainer = spool.SpoolDrainer(
            self.folder,
            functools.partial(_segment_loader, stores.settings, self.zone),
            options.flush_seconds,
            self.stats.add,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._listener: threading.Thread | None = None

    @property
    def ports(self) -> dict[str, int]:
        """The bound port of each listener (ephemeral ports resolved), after ``start``."""
        return dict(self.stats.ports)

    def start(self) -> dict[str, int]:
        """Seal what a crash left, start the drainer, then listen; returns the ports."""
        self._lock.acquire()
        try:
            self.stats.recovered_segments = len(spool.recover(self.folder))
            self._drainer.start()  # before our threads start: it may fork
            self._loop = asyncio.new_event_loop()
            self._listener = threading.Thread(target=self._run_loop, name="atna-listen")
            self._listener.start()
            self._ready.wait()
            if self._startup_error is not None:
                self._listener.join()
                self._listener = None
                self._drainer.stop()
                raise self._startup_error
        except BaseException:
            self._lock.release()
            raise
        return self.ports

    def stop(self) -> ReceiverStats:
        """Stop listening, spool what was read, load everything into the lake."""
        if self._listener is not None:
            if self._stopping is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._stopping.set)
            self._listener.join()
            self._listener = None
            self._drainer.stop()
            self._lock.release()
        return self.stats

    def __enter__(self) -> AtnaReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run_loop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._startup_error = self._startup_error or exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        writer = spool.SpoolWriter(self.folder)
        committer = GroupCommitter(
            writer,
            self.options.flush_seconds,
            on_commit=self._count,
            on_sealed=self._drainer.wake,
        )
        commit_task = asyncio.create_task(committer.run())
        handlers: set[asyncio.Task[None]] = set()

        async def handle(reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                handlers.add(task)
            self.stats.connections += 1
            try:
                await self._read_stream(reader, committer)
            finally:
                if task is not None:
                    handlers.discard(task)
                stream.close()

        servers: list[asyncio.AbstractServer] = []
        udp: socket.socket | None = None
        loop = asyncio.get_running_loop()
        try:
            for kind in ("tcp", "tls"):
                port = self.options.tcp_port if kind == "tcp" else self.options.tls_port
                if port is not None:
                    listener = await asyncio.start_server(
                        handle,
                        self.options.host,
                        port,
                        ssl=self.tls if kind == "tls" else None,
                        limit=READ_SIZE * 2,
                    )
                    servers.append(listener)
                    self.stats.ports[kind] = listener.sockets[0].getsockname()[1]
            if self.options.udp_port is not None:
                udp = self._udp_socket(self.options.udp_port)
                loop.add_reader(udp.fileno(), _drain_datagrams, udp, committer)
                self.stats.ports["udp"] = udp.getsockname()[1]
        except BaseException as exc:
            self._startup_error = exc
            for server in servers:
                server.close()
            if udp is not None:
                udp.close()
            committer.close()
            await commit_task
            self._ready.set()
            return
        self._ready.set()
        await self._stopping.wait()
        for server in servers:
            server.close()
        if udp is not None:
            loop.remove_reader(udp.fileno())
            _drain_datagrams(udp, committer)  # what the kernel already holds
            udp.close()
        if handlers:  # let connections hand over what they already sent, then cut them
            await asyncio.wait(list(handlers), timeout=STOP_GRACE)
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        committer.close()
        await commit_task

    def _count(self, accepted: int) -> None:
        self.stats.accepted += accepted

    def _udp_socket(self, port: int) -> socket.socket:
        family, kind, proto, _, address = socket.getaddrinfo(
            self.options.host, port, type=socket.SOCK_DGRAM
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
        sock.bind(address)
        return sock

    async def _read_stream(self, reader: asyncio.StreamReader, committer: GroupCommitter) -> None:
        framer = Framer()
        stopping = self._stopping
        while True:
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout=IDLE_CHECK)
            except TimeoutError:
                if stopping is not None and stopping.is_set():
                    return  # stopping and the sender has gone quiet
                continue
            except (ConnectionError, ssl.SSLError, OSError):
                return
            records = [(spool.KIND_MESSAGE, frame) for _, frame in framer.feed(data)]
            if not data:
                last = framer.finish()
                if last is not None:
                    records.append((spool.KIND_MESSAGE, last[1]))
            if framer.error is not None:
                self.stats.framing_errors += 1
                records.append(_framing_record(str(framer.error), framer.buffered))
            if records:
                waiter = committer.submit(records)
                if waiter is not None:
                    try:
                        await waiter
                    except OSError:
                        return  # not spooled: close, the sender sees the connection drop
            if not data or framer.error is not None:
                return


def run_receiver(
    stores: Stores,
    options: ReceiverOptions,
    *,
    stop_event: threading.Event | None = None,
    on_ready: Callable[[Mapping[str, int]], None] | None = None,
) -> ReceiverStats:
    """Run the receiver until ``stop_event`` is set or SIGTERM/SIGINT arrives.

    Blocks. ``on_ready`` gets the bound ports once listening. Returns the run's counts
    once every accepted message is in the lake (or, if the lake or database failed,
    still in the spool, which the next start loads).
    """
    stop = stop_event or threading.Event()
    receiver = AtnaReceiver(stores, options)
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        ports = receiver.start()
        if on_ready is not None:
            on_ready(ports)
        stop.wait()
    finally:
        stats = receiver.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return stats
