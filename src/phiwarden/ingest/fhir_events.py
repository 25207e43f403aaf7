"""Stream the AuditEvent lines of an NDJSON file through DuckDB, one batch ahead.

Reading a batch, cutting it into lines and extracting its events (DuckDB, which releases
the GIL) run in a worker thread while the main thread hashes and stores the batch before
(hashing, Arrow validation and Parquet writing release the GIL too), so the two halves
overlap on two cores. Everything that touches the database stays on the main thread.

The lake batch key is the SHA-256 of the batch's bytes with its number: the same lines
give the same key on every run, so a re-ingest writes nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from phiwarden.ingest.fhir_audit import AuditExtractor, Extracted, remap_role_users
from phiwarden.ingest.fhir_ndjson import Classified, Span, classify, read_span, scan, to_lines
from phiwarden.ingest.loader import Loader


@dataclass(frozen=True)
class EventBatch:
    """One batch of a file: its bytes and lines, their classification, the events found."""

    span: Span
    data: bytes | memoryview
    lines: pa.Array
    classified: Classified
    events: Extracted

    def batch_key(self) -> str:
        """The lake batch key: SHA-256 of the batch's bytes and the batch number.

        Computed on the consumer's side, which has time to spare while the worker
        extracts the next batch.
        """
        return f"{hashlib.sha256(self.data).hexdigest()[:24]}-{self.span.number:05d}"


def _prepare(
    extractor: AuditExtractor,
    span: Span,
    data: bytes | memoryview,
    ends: np.ndarray | None,
    codes: dict[str, int],
    known: np.ndarray | None,
) -> EventBatch:
    lines, bad_utf8 = to_lines(data, ends)
    classified = classify(lines, codes, bad_utf8) if known is None else Classified(known)
    audit = np.flatnonzero(classified.codes == codes["AuditEvent"])
    if len(audit) == len(lines):
        events = extractor.extract(lines, audit)
    else:
        events = extractor.extract(lines.take(pa.array(audit, pa.int64())), audit)
    return EventBatch(span, data, lines, classified, events)


def _sources(
    path: Path, spans: list[tuple[Span, np.ndarray]] | None, audit: int
) -> Iterator[tuple[Span, bytes | memoryview, np.ndarray | None, np.ndarray | None]]:
    if spans is None:
        for span, data, ends in scan(path):
            yield span, data, ends, None
        return
    for span, codes in spans:
        if (codes == audit).any():
            yield span, read_span(path, span), None, codes


def event_batches(
    path: Path, spans: list[tuple[Span, np.ndarray]] | None, codes: dict[str, int]
) -> Iterator[EventBatch]:
    """The batches of ``path`` holding AuditEvents, each prepared in a worker thread.

    ``spans`` are the batches and line codes found by a first pass, or None to read the
    file now and classify its lines on the way (a file that starts with AuditEvents).
    """
    extractor = AuditExtractor()
    reads = _sources(path, spans, codes["AuditEvent"])

    def step() -> EventBatch | None:
        item = next(reads, None)
        if item is None:
            return None
        return _prepare(extractor, item[0], item[1], item[2], codes, item[3])

    try:
        with ThreadPoolExecutor(max_workers=1) as worker:
            ahead: Future[EventBatch | None] = worker.submit(step)
            while (batch := ahead.result()) is not None:
                ahead = worker.submit(step)
                yield batch
    finally:
        extractor.close()


def store_events(
    loader: Loader,
    events: Extracted,
    role_practitioner: dict[str, str],
    *,
    source: str,
    locate: Callable[[int], str],
    batch_key: str,
) -> int:
    """Hand extracted events to the loader (users named by a role become its practitioner).

    ``locate`` turns an event's line reference into a quarantine location. Returns the
    number of events handed over.
    """
    if events.table.num_rows == 0:
        return 0
    table = remap_role_users(events.table, events.user_kinds, role_practitioner)
    refs = events.refs
    loader.load(
        "access_events",
        table,
        source=source,
        locate=lambda i: locate(int(refs[i])),
        batch_key=batch_key,
    )
    return table.num_rows
