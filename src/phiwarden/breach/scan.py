"""Scan sources for an incident: cut each into units, scan the units in a process pool
(both cores) or on Spark, and write each batch's findings in the same transaction that
marks its units done.

A source is known by its path: scanning the same path again for the same incident skips
every unit already done, so a scan killed with ``kill -9`` and run again finishes with the
same findings and no double counts. Units are planned lazily and only a few batches are in
flight at once, so memory stays flat however large the mailbox.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from phiwarden.breach.people import RECOGNIZERS, Index
from phiwarden.breach.units import Unit, is_mbox, is_pst, plan
from phiwarden.breach.worker import UnitResult, scan_batch, scan_unit, start, unit_key
from phiwarden.cases.engine import change
from phiwarden.store.breach_tables import (
    breach_findings,
    breach_sources,
    breach_units,
    breach_unscannable,
)
from phiwarden.store.setup import Stores

#: scan engines: the embedded process pool, or Spark
SCAN_ENGINES = ("embedded", "spark")
#: units per batch sent to a worker, and the bytes that close a batch early
BATCH_UNITS = 32
BATCH_BYTES = 4 << 20
#: units per Spark job
SPARK_UNITS = 2_000

Progress = Callable[[int], None]


@dataclass
class ScanStats:
    """What one run of a scan read (units already done by an earlier run not counted)."""

    messages: int = 0
    attachments: int = 0
    bytes: int = 0
    seconds: float = 0.0
    units: int = 0
    skipped: int = 0
    sources: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The ``stats`` of the command-line contract."""
        return {
            "messages": self.messages,
            "attachments": self.attachments,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 2),
            "units": self.units,
            "skipped": self.skipped,
        }


def source_size(path: Path) -> int:
    """Bytes under a path (for progress)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def fingerprint(kind: str, label: str) -> str:
    """A source's identity within an incident."""
    return hashlib.sha256(f"{kind}\n{label}".encode()).hexdigest()


def open_source(
    conn: Connection, incident_id: str, kind: str, label: str, engine: str, actor: str, at: datetime
) -> tuple[int, set[str]]:
    """The source row for (incident, kind, label), created if new, and its units done."""
    fp = fingerprint(kind, label)
    row = conn.execute(
        select(breach_sources.c.source_id).where(
            breach_sources.c.incident_id == incident_id, breach_sources.c.fingerprint == fp
        )
    ).first()
    if row is None:
        source_id = conn.execute(
            insert(breach_sources)
            .values(
                incident_id=incident_id,
                kind=kind,
                label=label,
                fingerprint=fp,
                engine=engine,
                status="running",
                units_done=0,
                messages=0,
                attachments=0,
                bytes=0,
                seconds=0.0,
                started_at=at,
                started_by=actor,
            )
            .returning(breach_sources.c.source_id)
        ).scalar_one()
        return int(source_id), set()
    source_id = int(row[0])
    conn.execute(
        update(breach_sources)
        .where(breach_sources.c.source_id == source_id)
        .values(status="running", engine=engine, error=None)
    )
    done = conn.execute(
        select(breach_units.c.unit_key).where(breach_units.c.source_id == source_id)
    ).scalars()
    return source_id, set(done)


def write_results(
    conn: Connection,
    incident_id: str,
    source_id: int,
    results: Iterable[UnitResult],
    at: datetime,
    seconds: float = 0.0,
) -> ScanStats:
    """Write units' findings and unreadable items and mark the units done, in the
    caller's transaction; the totals written."""
    stats = ScanStats()
    findings: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    units: list[dict[str, Any]] = []
    for r in results:
        units.append(
            {
                "source_id": source_id,
                "unit_key": r.key,
                "place": r.where[:4000],
                "bytes": r.bytes,
                "done_at": at,
            }
        )
        for f in r.findings:
            findings.append(
                {
                    "incident_id": incident_id,
                    "source_id": source_id,
                    "unit_key": r.key,
                    "place": f.where,
                    "element": f.element,
                    "person": f.person,
                    "patient_id": f.patient_id,
                    "label": f.label[:255],
                    "occurrences": f.occurrences,
                    "offsets": [list(o) for o in f.offsets],
                    "snippet": f.snippet,
                    "seen_at": f.when,
                }
            )
        for where, reason in r.unscannable:
            unreadable.append(
                {
                    "incident_id": incident_id,
                    "source_id": source_id,
                    "unit_key": r.key,
                    "place": where,
                    "reason": reason,
                }
            )
        stats.units += 1
        stats.messages += r.messages
        stats.attachments += r.attachments
        stats.bytes += r.bytes
    if units:
        conn.execute(insert(breach_units), units)
    if findings:
        conn.execute(insert(breach_findings), findings)
    if unreadable:
        conn.execute(insert(breach_unscannable), unreadable)
    c = breach_sources.c
    conn.execute(
        update(breach_sources)
        .where(c.source_id == source_id)
        .values(
            units_done=c.units_done + stats.units,
            messages=c.messages + stats.messages,
            attachments=c.attachments + stats.attachments,
            bytes=c.bytes + stats.bytes,
            seconds=c.seconds + seconds,
        )
    )
    return stats


def _batches(units: Iterable[Unit]) -> Iterator[list[Unit]]:
    batch: list[Unit] = []
    size = 0
    for unit in units:
        batch.append(unit)
        size += unit.size
        if len(batch) >= BATCH_UNITS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _pool(
    units: Iterable[Unit], index: Index, workers: int, recognizer: str, start_method: str
) -> Iterator[list[UnitResult]]:
    """Scan batches in ``workers`` processes, a few batches in flight at once."""
    if workers <= 1:
        for batch in _batches(units):
            yield [scan_unit(u, index, recognizer) for u in batch]
        return
    # spawned, not forked: the caller may hold native threads (DuckDB, a web server), and a
    # forked child of a threaded process can crash on a lock another thread held (seen in
    # the demo as a segfault in libc)
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=start, initargs=(index, recognizer)
    ) as pool:
        pending: set[Future[list[UnitResult]]] = set()
        for batch in _batches(units):
            pending.add(pool.submit(scan_batch, batch))
            if len(pending) >= workers * 3:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()


def _spark(
    units: Iterable[Unit], index: Index, stores: Stores, recognizer: str
) -> Iterator[list[UnitResult]]:
    """Scan on Spark: units go out as pickled rows, each executor scans its partition with
    the same pure function, and the results come back as pickled rows."""
    import pyarrow as pa

    from phiwarden.lake.engine import open_backend, spark_session

    def scan_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out = [
                pickle.dumps(scan_unit(pickle.loads(raw), index, recognizer))
                for raw in batch.column("unit").to_pylist()
            ]
            yield pa.RecordBatch.from_pydict(
                {"result": out}, schema=pa.schema([("result", pa.binary())])
            )

    with open_backend(stores.settings.with_engine("spark")) as backend:
        session = spark_session(backend)
        chunk: list[Unit] = []
        for unit in units:
            chunk.append(unit)
            if len(chunk) >= SPARK_UNITS:
                yield _spark_job(session, chunk, scan_partition)
                chunk = []
        if chunk:
            yield _spark_job(session, chunk, scan_partition)


def _spark_job(session: Any, chunk: list[Unit], scan_partition: Any) -> list[UnitResult]:
    frame = session.createDataFrame([(pickle.dumps(u),) for u in chunk], "unit binary")
    rows = frame.repartition(min(len(chunk), 8)).mapInArrow(scan_partition, "result binary")
    return [pickle.loads(r["result"]) for r in rows.collect()]


def default_workers() -> int:
    """Both cores (at most two processes unless asked)."""
    return max(1, min(2, os.cpu_count() or 1))


def source_kind(path: Path) -> str:
    """``mailbox`` for an mbox or PST file, ``files`` for a folder, a ZIP or a file."""
    if path.is_file() and (is_pst(path) or is_mbox(path)):
        return "mailbox"
    return "files"


def scan_paths(
    stores: Stores,
    incident_id: str,
    paths: list[Path],
    *,
    actor: str,
    engine: str = "embedded",
    workers: int | None = None,
    mrn_pattern: str | None = None,
    recognizer: str = "fast",
    start_method: str = "spawn",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ScanStats:
    """Scan mailboxes, folders and files for an incident; resumes what an earlier run of
    the same paths left undone. The totals of this run."""
    if recognizer not in RECOGNIZERS:
        raise ValueError(f"unknown recognizers {recognizer!r}: use {', '.join(RECOGNIZERS)}")
    if engine not in SCAN_ENGINES:
        raise ValueError(f"unknown scan engine {engine!r}: use one of {', '.join(SCAN_ENGINES)}")
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: give a mailbox (mbox, PST), a folder or a file"
            )
    require_incident(stores, incident_id)
    index = Index.load(stores.engine, stores.protector, mrn_pattern)
    total = ScanStats()
    started = time.perf_counter()
    for path in paths:
        resolved = path.resolve()
        kind = source_kind(resolved)
        at = (now or datetime.now()).replace(microsecond=0)
        with stores.engine.begin() as conn:
            source_id, done = open_source(conn, incident_id, kind, str(resolved), engine, actor, at)
        total.sources.append(source_id)

        def todo(resolved: Path = resolved, done: set[str] = done) -> Iterator[Unit]:
            for unit in plan(resolved):
                if unit_key(unit.where) in done:
                    total.skipped += 1
                    if progress:
                        progress(unit.size)
                    continue
                yield unit

        results = (
            _spark(todo(), index, stores, recognizer)
            if engine == "spark"
            else _pool(todo(), index, workers or default_workers(), recognizer, start_method)
        )
        try:
            tick = time.perf_counter()
            for batch in results:
                with stores.engine.begin() as conn:
                    now_tick = time.perf_counter()
                    got = write_results(conn, incident_id, source_id, batch, at, now_tick - tick)
                    tick = now_tick
                total.units += got.units
                total.messages += got.messages
                total.attachments += got.attachments
                total.bytes += got.bytes
                if progress:
                    progress(got.bytes)
        except BaseException as exc:
            with stores.engine.begin() as conn:
                conn.execute(
                    update(breach_sources)
                    .where(breach_sources.c.source_id == source_id)
                    .values(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
                )
            raise
        finish_source(stores, incident_id, source_id, kind, str(resolved), actor, now)
    total.seconds = time.perf_counter() - started
    return total


def finish_source(
    stores: Stores,
    incident_id: str,
    source_id: int,
    kind: str,
    label: str,
    actor: str,
    now: datetime | None,
) -> None:
    """Mark a source scanned and say so in the incident's timeline."""
    at = (now or datetime.now()).replace(microsecond=0)
    with stores.engine.begin() as conn:
        conn.execute(
            update(breach_sources)
            .where(breach_sources.c.source_id == source_id)
            .values(status="done", finished_at=at)
        )
        row = (
            conn.execute(select(breach_sources).where(breach_sources.c.source_id == source_id))
            .mappings()
            .one()
        )
        people = conn.execute(
            select(breach_findings.c.person)
            .where(breach_findings.c.source_id == source_id)
            .distinct()
        ).all()
        summary = (
            f"Scanned {kind} {Path(label).name if kind in ('mailbox', 'files') else label}: "
            f"{row['units_done']:,} unit(s), {row['messages']:,} message(s), "
            f"{row['attachments']:,} attachment(s); {len(people):,} people found"
        )
        change(
            stores,
            incident_id,
            None,
            actor,
            lambda ctx: ctx.event("scan", summary, detail={"source": source_id}),
            now=at,
            conn=conn,
        )


class UnknownIncident(ValueError, LookupError):
    """No incident with that number (a bad argument on the command line, a 404 on the API)."""


def require_incident(stores: Stores, incident_id: str) -> None:
    """Nothing, or :class:`UnknownIncident` saying how to find the incident's number."""
    from phiwarden.breach.incident import get_incident

    with stores.engine.connect() as conn:
        if get_incident(conn, incident_id) is None:
            raise UnknownIncident(
                f"no incident {incident_id}: 'phiwarden breach list' shows the incident numbers"
            )
