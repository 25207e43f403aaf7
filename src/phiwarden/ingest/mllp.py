"""An MLLP listener for live HL7 v2 ADT feeds: asyncio TCP, group commits, an ACK each.

MLLP frames a message as ``0x0B message 0x1C 0x0D``. Every connection may send messages
one at a time or several without waiting; acknowledgements go back in order. Messages
from all connections arriving within a few milliseconds (or while the previous batch is
being stored) form one batch: one loader transaction per table for all of them, then an
ACK (MSA|AA) or NAK (MSA|AE / AR with the reason in MSA-3 and ERR) for each. An ACK is
sent only once the message's records are committed or quarantined; if storing fails the
connection is closed without one, so the sender sends the message again (loading is
idempotent). Stopping finishes the messages already received, answers them, then closes.

:func:`serve_mllp` is the generic server (any batch handler); :func:`run_listener` is
what ``phiwarden listen hl7`` runs: the server wired to the ADT loader.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from phiwarden.ingest import hl7_ack
from phiwarden.ingest.hl7_batch import AdtBatchLoader, Inbound, RecordingLoader
from phiwarden.ingest.hl7_er7 import CR, END_BLOCK, START_BLOCK
from phiwarden.ingest.report import IngestReport
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores

log = logging.getLogger(__name__)

#: Largest message accepted; a sender beyond it is disconnected.
MAX_MESSAGE = 4 << 20
#: Longest the batcher waits for more messages before storing a batch, and the pause in
#: arrivals that ends the wait early (seconds).
BATCH_WINDOW = 0.01
QUIET = 0.001
MAX_BATCH = 500
#: Messages of one connection waiting for their ACK before the listener stops reading it.
MAX_IN_FLIGHT = 1000
#: Batch handler: messages in, one acknowledgement payload (unframed) per message out.
Handler = Callable[[Sequence[Inbound]], list[bytes]]


class FrameTooLargeError(ValueError):
    """A sender's frame exceeds MAX_MESSAGE bytes."""


def frame(payload: bytes) -> bytes:
    """Wrap one message in MLLP start and end blocks."""
    return START_BLOCK + payload + END_BLOCK + CR


class MllpFramer:
    """Cuts an MLLP byte stream into message payloads.

    Bytes outside a frame are ignored; a start block inside a frame restarts it (the
    sender gave up on a partial message); a frame ends at the end block (the CR after it
    is optional, as some senders forget it).
    """

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self.max_size = max_size

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; returns the messages they completed."""
        self._buf += data
        out: list[bytes] = []
        while True:
            if not self._in_frame:
                start = self._buf.find(START_BLOCK)
                if start < 0:
                    self._buf.clear()
                    return out
                del self._buf[: start + 1]
                self._in_frame = True
            end = self._buf.find(END_BLOCK)
            restart = self._buf.find(START_BLOCK)
            if 0 <= restart < (end if end >= 0 else len(self._buf)):
                del self._buf[: restart + 1]
                continue
            if end < 0:
                if len(self._buf) > self.max_size:
                    raise FrameTooLargeError(f"a message exceeds {self.max_size} bytes")
                return out
            out.append(bytes(self._buf[:end]))
            del self._buf[: end + 1]
            self._in_frame = False


@dataclass
class _Item:
    inbound: Inbound
    done: asyncio.Future[bytes]


class MllpServer:
    """The asyncio side: connections, the shared batch queue, graceful stop."""

    def __init__(self, handler: Handler, *, batch_window: float, max_batch: int) -> None:
        self.handler = handler
        self.batch_window = batch_window
        self.max_batch = max_batch
        self.queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self.readers: set[asyncio.Task[None]] = set()
        self.clients: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-store")

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection: read frames, queue them, send ACKs in order."""
        task = asyncio.current_task()
        assert task is not None
        self.clients.add(task)
        peer = writer.get_extra_info("peername")
        name = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        pending: asyncio.Queue[asyncio.Future[bytes] | None] = asyncio.Queue()
        sender = asyncio.create_task(self._send(writer, pending))
        self.readers.add(task)
        try:
            await self._read(reader, pending, name)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
        except (ConnectionError, FrameTooLargeError, OSError) as exc:
            log.warning("MLLP connection from %s dropped: %s", name, exc)
        finally:
            self.readers.discard(task)
            pending.put_nowait(None)
        try:
            await sender
        finally:
            writer.close()
            self.clients.discard(task)

    async def _read(
        self,
        reader: asyncio.StreamReader,
        pending: asyncio.Queue[asyncio.Future[bytes] | None],
        peer: str,
    ) -> None:
        framer = MllpFramer()
        number = 0
        loop = asyncio.get_running_loop()
        while not self.stopping:
            while pending.qsize() >= MAX_IN_FLIGHT:  # let the sender wait for its ACKs
                await asyncio.sleep(0.005)
            data = await reader.read(1 << 16)
            if not data:
                return
            for payload in framer.feed(data):
                number += 1
                header = hl7_ack.peek_header(payload)
                where = (
                    f"control {header.control_id[:20]} from {peer}"
                    if header.control_id
                    else f"message {number} from {peer}"
                )
                done: asyncio.Future[bytes] = loop.create_future()
                self.queue.put_nowait(_Item(Inbound(payload, where), done))
                pending.put_nowait(done)

    async def _send(
        self, writer: asyncio.StreamWriter, pending: asyncio.Queue[asyncio.Future[bytes] | None]
    ) -> None:
        while (done := await pending.get()) is not None:
            ack = await done
            if not ack:  # storing failed: close without an ACK, so the sender resends
                writer.close()
                return
            try:
                writer.write(frame(ack))
                await writer.drain()
            except (ConnectionError, OSError):
                return  # the sender left; its messages are stored and it will resend

    async def batcher(self) -> None:
        """Take queued messages in batches, store them in the worker thread, answer."""
        loop = asyncio.get_running_loop()
        last = False
        while not last:
            first = await self.queue.get()
            if first is None:
                return
            await self._gather_more(loop.time() + self.batch_window)
            batch = [first]
            while len(batch) < self.max_batch and not self.queue.empty():
                item = self.queue.get_nowait()
                if item is None:
                    last = True
                    break
                batch.append(item)
            inbound = [b.inbound for b in batch]
            try:
                acks = await loop.run_in_executor(self.executor, self.handler, inbound)
            except Exception:
                log.exception("storing %d HL7 messages failed; no ACK sent", len(batch))
                acks = [b""] * len(batch)
            for b, ack in zip(batch, acks, strict=True):
                b.done.set_result(ack)

    async def _gather_more(self, deadline: float) -> None:
        """Wait while messages keep arriving (a pause of QUIET ends it), until the
        deadline or a full batch: senders that wait for each ACK answer in a burst."""
        loop = asyncio.get_running_loop()
        seen = -1
        while seen != self.queue.qsize() < self.max_batch and loop.time() < deadline:
            seen = self.queue.qsize()
            await asyncio.sleep(QUIET)

    async def stop(self, server: asyncio.Server, batcher: asyncio.Task[None]) -> None:
        """Stop accepting and reading, answer what was received, close everything."""
        self.stopping = True
        server.close()
        for task in list(self.readers):
            task.cancel()
        while self.clients:
            await asyncio.gather(*list(self.clients), return_exceptions=True)
        self.queue.put_nowait(None)
        await batcher
        await server.wait_closed()
        self.executor.shutdown(wait=True)


async def serve_mllp(
    host: str,
    port: int,
    handler: Handler,
    *,
    stop: asyncio.Event,
    ready: Callable[[int], None] | None = None,
    batch_window: float = BATCH_WINDOW,
    max_batch: int = MAX_BATCH,
) -> None:
    """Serve MLLP on host:port until ``stop`` is set; ``ready(port)`` is called once
    listening (port 0 picks a free port). ``handler`` runs in one worker thread."""
    mllp = MllpServer(handler, batch_window=batch_window, max_batch=max_batch)
    server = await asyncio.start_server(mllp.client, host, port)
    batcher = asyncio.create_task(mllp.batcher())
    if ready is not None:
        ready(server.sockets[0].getsockname()[1])
    try:
        await stop.wait()
    finally:
        await mllp.stop(server, batcher)


class AdtHandler:
    """The batch handler of ``run_listener``: loads ADT messages, builds ACKs and NAKs.

    The loader keeps the keys it has seen (to check references quickly); those caches are
    renewed every ``refresh_seconds`` so that staff or patients added to the store by
    another process are seen, and after a failed batch so that nothing stale survives.
    """

    def __init__(self, stores: Stores, source: str, refresh_seconds: float = 300.0) -> None:
        self.stores = stores
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.report = IngestReport()
        self._batches = self._fresh()
        self._number = 0

    def _fresh(self) -> AdtBatchLoader:
        s = self.stores
        loader = RecordingLoader(s.engine, s.protector, s.settings.lake_dir)
        loader.report = self.report
        self._since = time.monotonic()
        return AdtBatchLoader(loader, self.source)

    def __call__(self, messages: Sequence[Inbound]) -> list[bytes]:
        """Store one batch; one acknowledgement per message, in order."""
        if time.monotonic() - self._since > self.refresh_seconds:
            self._batches = self._fresh()
        self._number += 1
        try:
            outcomes = self._batches.load(messages, batch_key=f"mllp-{self._number}")
        except Exception:
            self._batches = self._fresh()
            raise
        return [
            hl7_ack.acknowledgement(o.header, o.ack_code, o.reason, o.error_code) for o in outcomes
        ]


async def _watch(flag: threading.Event | None, stop: asyncio.Event) -> None:
    """Set ``stop`` once another thread sets ``flag``."""
    if flag is None:
        return
    while not flag.is_set():
        await asyncio.sleep(0.05)
    stop.set()


def run_listener(
    stores: Stores,
    host: str = "127.0.0.1",
    port: int = 2575,
    *,
    stop_event: threading.Event | None = None,
    ready: Callable[[int], None] | None = None,
) -> IngestReport:
    """Listen for HL7 v2 ADT over MLLP until ``stop_event`` is set (or SIGINT/SIGTERM
    when run in the main thread); returns what was loaded. The run is recorded in the
    store's ingest runs with source ``mllp://host:port``."""
    source = f"mllp://{host}:{port}"
    handler = AdtHandler(stores, source)
    with stores.engine.begin() as conn:
        run_id = repo.start_ingest_run(conn, source=source, fmt="hl7v2")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        watcher = asyncio.create_task(_watch(stop_event, stop))
        try:
            await serve_mllp(host, port, handler, stop=stop, ready=ready)
        finally:
            watcher.cancel()

    try:
        asyncio.run(main())
    finally:
        with stores.engine.begin() as conn:
            repo.finish_ingest_run(
                conn,
                run_id,
                loaded=sum(handler.report.loaded.values()),
                quarantined=handler.report.quarantined,
                duplicates=handler.report.duplicates_skipped,
            )
    handler.report.sources.append(source)
    return handler.report
