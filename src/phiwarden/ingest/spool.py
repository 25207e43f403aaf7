"""A durable spool: raw messages are on disk (fsynced) before a listener counts them.

Layout, in one folder (``Settings.spool_dir / "atna"``)::

    spool.lock                          locked (lockf) by the one receiver using the folder
    <time_ns>-<random>.open             the segment being appended to
    <time_ns>-<random>.seg              sealed segments waiting for the lake, oldest first

A segment is a sequence of records ``length (4 bytes) | kind (1) | crc32 (4) | payload``
(big-endian; the CRC covers kind and payload). Why:

- **Group commit.** :meth:`SpoolWriter.append` writes a batch of records with one
  ``write`` and one ``fdatasync``; a listener acknowledges (counts) its messages only
  after that returns, so everything acknowledged survives a crash or power cut.
- **Torn tails.** A crash can leave a partly written last batch (never acknowledged).
  Reading stops at the first record that is short or fails its CRC; :func:`recover`
  truncates an ``.open`` segment there and seals it, so a replay reads the same records.
- **Immutable sealed segments.** A segment is sealed (renamed to ``.seg``, folder
  fsynced) before it is loaded, so its name and record offsets identify fixed content:
  lake batch keys built from them make a replay after a crash idempotent.
- **Done means deleted.** After the lake append and quarantine commit, :func:`mark_done`
  unlinks the segment and fsyncs the folder. A crash before that replays the segment,
  which writes nothing twice (the lake skips existing batch files, the quarantine
  ignores rejections it already holds). Raw messages are PHI: files are mode 0600 and
  live only until they reach the lake.
- **Draining apart.** :class:`SpoolDrainer` loads sealed segments in a child process,
  so the listener that fills the spool keeps the GIL for itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import multiprocessing as mp
import os
import queue
import secrets
import signal
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEADER = struct.Struct(">IBI")
KIND_MESSAGE = 0
KIND_FRAMING_ERROR = 1
OPEN_SUFFIX = ".open"
SEALED_SUFFIX = ".seg"
LOCK_NAME = "spool.lock"
MAX_RECORD = 16 << 20


class SpoolBusyError(RuntimeError):
    """Another receiver holds the spool folder."""


@dataclass(frozen=True)
class SpoolRecord:
    """One spooled record: byte offset in its segment, kind, and the raw payload."""

    offset: int
    kind: int
    payload: bytes


@dataclass(frozen=True)
class Segment:
    """The readable records of a segment and where they end; ``damaged`` if bytes follow."""

    path: Path
    records: list[SpoolRecord]
    end: int
    damaged: bool

    @property
    def name(self) -> str:
        """The segment's name without suffix (unique, sortable by creation time)."""
        return self.path.name.rsplit(".", 1)[0]


def fsync_dir(folder: Path) -> None:
    """Make renames, creations and deletions in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def encode(kind: int, payload: bytes) -> bytes:
    """One record's bytes."""
    crc = zlib.crc32(payload, zlib.crc32(bytes((kind,))))
    return HEADER.pack(len(payload), kind, crc) + payload


def read_segment(path: Path) -> Segment:
    """Read a segment's records up to the first short or corrupt one."""
    data = path.read_bytes()
    records: list[SpoolRecord] = []
    pos, size = 0, len(data)
    while pos + HEADER.size <= size:
        length, kind, crc = HEADER.unpack_from(data, pos)
        start = pos + HEADER.size
        payload = data[start : start + length]
        if length > MAX_RECORD or len(payload) != length:
            break
        if zlib.crc32(payload, zlib.crc32(bytes((kind,)))) != crc:
            break
        records.append(SpoolRecord(pos, kind, payload))
        pos = start + length
    return Segment(path, records, pos, damaged=pos != size)


def open_segments(folder: Path) -> list[Path]:
    """Segments left open (by a crash), oldest first."""
    return sorted(folder.glob(f"*{OPEN_SUFFIX}"))


def sealed_segments(folder: Path) -> list[Path]:
    """Sealed segments waiting for the lake, oldest first."""
    return sorted(folder.glob(f"*{SEALED_SUFFIX}"))


def recover(folder: Path) -> list[Path]:
    """Seal segments a crashed receiver left open, cutting torn tails; return them.

    Call with the spool lock held, before any writer starts.
    """
    sealed: list[Path] = []
    for path in open_segments(folder):
        segment = read_segment(path)
        if not segment.records:
            path.unlink()
            continue
        if segment.damaged:
            with path.open("r+b") as fh:
                fh.truncate(segment.end)
                os.fsync(fh.fileno())
        target = path.with_suffix(SEALED_SUFFIX)
        os.replace(path, target)
        sealed.append(target)
    fsync_dir(folder)
    return sealed


def mark_done(path: Path) -> None:
    """Forget a segment whose records are all in the lake or the quarantine."""
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


_HELD: set[Path] = set()
_HELD_GUARD = threading.Lock()


class SpoolLock:
    """An exclusive lock on a spool folder, so two receivers never share segments.

    Between processes a POSIX record lock (``lockf``), not ``flock``: a forked child does
    not inherit it, so a drainer outliving a killed receiver never blocks the next one.
    Record locks do not exclude the same process, so a set of held folders does that.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None

    def acquire(self) -> None:
        """Create the folder (mode 0700) and take the lock, or raise SpoolBusyError."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = self.folder.resolve()
        busy = SpoolBusyError(f"another receiver is using the spool {self.folder}: stop it first")
        with _HELD_GUARD:
            if key in _HELD:
                raise busy
            fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                raise busy from exc
            _HELD.add(key)
            self._fd = fd

    def release(self) -> None:
        """Let go of the lock."""
        if self._fd is not None:
            with _HELD_GUARD:
                os.close(self._fd)
                self._fd = None
                _HELD.discard(self.folder.resolve())


class SpoolWriter:
    """Appends record batches to the open segment, fsyncing once per batch.

    Not thread-safe: one thread (the receiver's I/O thread) calls it.
    """

    def __init__(self, folder: Path, *, max_segment_bytes: int = 64 << 20) -> None:
        self.folder = folder
        self.max_segment_bytes = max_segment_bytes
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._opened_at = 0.0

    @property
    def age(self) -> float:
        """Seconds since the open segment got its first record (0 when none is open)."""
        return time.monotonic() - self._opened_at if self._fd is not None else 0.0

    def _open(self) -> int:
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}{OPEN_SUFFIX}"
        self._path = self.folder / name
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fsync_dir(self.folder)
        self._size = 0
        self._opened_at = time.monotonic()
        return self._fd

    def append(self, records: Sequence[tuple[int, bytes]]) -> None:
        """Write ``(kind, payload)`` records durably (one write, one fdatasync)."""
        if not records:
            return
        fd = self._fd if self._fd is not None else self._open()
        data = b"".join(encode(kind, payload) for kind, payload in records)
        view = memoryview(data)
        try:
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fdatasync(fd)
        except OSError:
            # Disk full or I/O error: cut the partial batch off and start a new segment
            # next time, so records acknowledged later never sit behind garbage.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
            with contextlib.suppress(OSError):
                self.seal()
            raise
        self._size += len(data)
        if self._size >= self.max_segment_bytes:
            self.seal()

    def seal(self) -> Path | None:
        """Close the open segment and rename it to ``.seg``; return its new path."""
        fd, path = self._fd, self._path
        if fd is None or path is None:
            return None
        self._fd, self._path = None, None
        os.close(fd)
        target = path.with_suffix(SEALED_SUFFIX)
        os.replace(path, target)  # if this fails, recover() seals it at the next start
        fsync_dir(self.folder)
        return target


Counts = dict[str, int]
LoadSegment = Callable[[Path], Counts]


def drain(folder: Path, load: LoadSegment, report: Callable[[Counts], None]) -> None:
    """Load every sealed segment, oldest first; stop at the first failure.

    ``load`` moves one segment's records to their destination and calls :func:`mark_done`;
    a segment that fails stays in the spool and is tried again next time.
    """
    for path in sealed_segments(folder):
        try:
            counts = load(path)
        except Exception:  # whatever went wrong, the segment stays for a retry
            log.exception("cannot load spool segment %s; it stays for a retry", path.name)
            report({"flush_errors": 1})
            return
        report(counts)


def _drainer_main(
    folder: Path,
    make_load: Callable[[], LoadSegment],
    every: float,
    wake: Any,
    stop: Any,
    results: Any,
    parent: int,
) -> None:
    """The drainer process: drain every ``every`` seconds or when woken, until stopped.

    It ignores SIGINT/SIGTERM (a service manager signals the whole group; the owner stops
    it after its last seal) and exits at once if the owner dies, leaving the rest to the
    next start.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            load = make_load()
            break
        except Exception:  # the database may be down: keep the spool, try again later
            log.exception("the spool drainer cannot start; retrying in %s s", every)
            results.put({"flush_errors": 1})
            if stop.wait(every) or os.getppid() != parent:
                return
    while not stop.is_set():
        drain(folder, load, results.put)
        wake.wait(every)
        wake.clear()
        if os.getppid() != parent:
            return
    drain(folder, load, results.put)


class SpoolDrainer:
    """Drains sealed segments in a child process, restarted if it dies.

    A process, not a thread: loading (parsing, validating) holds the GIL, and a thread
    doing it starves the owner's listener. ``make_load`` runs in the child (it opens
    the stores there); ``on_counts`` gets each segment's counts in the owner.
    """

    def __init__(
        self,
        folder: Path,
        make_load: Callable[[], LoadSegment],
        every: float,
        on_counts: Callable[[Counts], None],
    ) -> None:
        self._args = (folder, make_load, every)
        self._on_counts = on_counts
        self._ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._wake = self._ctx.Event()
        self._stop = self._ctx.Event()
        self._results = self._ctx.Queue()
        self._proc: Any = None
        self._closing = threading.Event()
        self._monitor: threading.Thread | None = None

    def start(self) -> None:
        """Start the child (before the owner starts threads: it may fork) and the collector."""
        self._spawn()
        self._monitor = threading.Thread(target=self._collect, name="spool-drain-counts")
        self._monitor.start()

    def _spawn(self) -> None:
        args = (*self._args, self._wake, self._stop, self._results, os.getpid())
        self._proc = self._ctx.Process(target=_drainer_main, name="spool-drainer", args=args)
        self._proc.start()

    def wake(self) -> None:
        """A segment was sealed: drain now rather than at the next tick."""
        self._wake.set()

    def _collect(self) -> None:
        while True:
            try:
                counts = self._results.get(timeout=0.2)
            except queue.Empty:
                if self._closing.is_set():
                    return
                if not self._stop.is_set() and not self._proc.is_alive():
                    log.error("the spool drainer died (exit %s); restarting", self._proc.exitcode)
                    self._on_counts({"flush_errors": 1})
                    self._spawn()
                continue
            self._on_counts(counts)

    def stop(self) -> None:
        """Let the child drain what is sealed, wait for it, collect its last counts."""
        self._stop.set()
        self._wake.set()
        if self._proc is not None:
            self._proc.join()
        self._closing.set()
        if self._monitor is not None:
            self._monitor.join()
            self._monitor = None


__all__ = [
    "KIND_FRAMING_ERROR",
    "KIND_MESSAGE",
    "Counts",
    "Segment",
    "SpoolBusyError",
    "SpoolDrainer",
    "SpoolLock",
    "SpoolRecord",
    "SpoolWriter",
    "drain",
    "encode",
    "mark_done",
    "read_segment",
    "recover",
    "sealed_segments",
]
