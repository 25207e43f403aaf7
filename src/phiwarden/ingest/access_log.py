"""Read EHR access-log CSV exports (Epic-style, or any EHR through a mapping file).

``phiwarden ingest --format epic`` reads the Epic-style export with the bundled
``mappings/epic.toml``; ``--format auto`` recognises a CSV whose header has the columns of
``epic.toml`` or ``generic.toml``. A hospital whose EHR writes other columns copies one of
those files, renames the columns, timestamp formats and action values to its own, and
passes it: ``phiwarden ingest export.csv --format epic --mapping our_ehr.toml`` (in Python
``load_with_mapping(loader, path, Path("our_ehr.toml"))``). See
:mod:`phiwarden.ingest.access_log_mapping` for every key.

Speed (``benchmarks/bench_ingest_access_log.py``): the file is read by Arrow's CSV reader
with its threads, only the mapped columns are converted, every field is mapped with Arrow
kernels against dictionaries read once from the store (no Python loop over rows), and
batches are mapped and loaded by two worker threads while the next one is read. Batches
are cut every :data:`EVENT_BATCH_ROWS` rows, fixed, so each lake file's key (file hash +
batch number) is the same on every run and re-ingesting a file adds nothing. Lines that
do not split into the header's fields, and rows whose time, user, patient or action
cannot be mapped, go to quarantine with their line number and the reason; the rows
around them load.
"""

from __future__ import annotations

import contextlib
import csv
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.ingest.access_log_batch import (
    MappedBatch,
    Resolvers,
    build_resolvers,
    map_batch,
    show,
)
from phiwarden.ingest.access_log_mapping import BUNDLED, Mapping, MappingError, read_mapping
from phiwarden.ingest.access_log_read import FileReader, RawBatch, read_header, scan
from phiwarden.ingest.loader import EVENT_REFERENCES, Loader

__all__ = ["EVENT_BATCH_ROWS", "MappingError", "load", "load_with_mapping", "sniff"]

Progress = Callable[[str, int, int], None]
#: Rows per lake batch. Fixed, not tunable: batch boundaries are part of each lake file's key.
EVENT_BATCH_ROWS = 500_000
#: Batches mapped and loaded at once (each by its own thread).
WORKERS = 2


def _matching_files(path: Path, mapping: Mapping) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob(mapping.csv.files) if p.is_file())
    return [path]


def _bundled_for(path: Path) -> Path | None:
    """The bundled mapping whose columns a CSV (or a folder's first CSVs) has, if any."""
    for mapping_path in BUNDLED.values():
        mapping = read_mapping(mapping_path)
        for candidate in _matching_files(path, mapping)[:3]:
            if candidate.suffix.lower() in (".csv", ".txt") and not mapping.missing_columns(
                read_header(candidate, mapping)
            ):
                return mapping_path
    return None


def sniff(path: Path) -> bool:
    """True for a CSV (or a folder of them) whose header has every column of a bundled mapping."""
    return _bundled_for(path) is not None


def load(
    loader: Loader, path: Path, progress: Progress | None = None, *, mapping: Path | None = None
) -> None:
    """Load an export (file or folder) through ``mapping``.

    Without one, the bundled mapping whose columns the file has is used (epic.toml or
    generic.toml), else epic.toml (whose error then names the missing columns).
    """
    chosen = mapping or _bundled_for(Path(path)) or BUNDLED["epic"]
    load_with_mapping(loader, path, chosen, progress)


def load_with_mapping(
    loader: Loader, path: Path, mapping_path: Path, progress: Progress | None = None
) -> None:
    """Load an access-log export read through the mapping file at ``mapping_path``."""
    mapping = read_mapping(mapping_path)
    files = _matching_files(Path(path), mapping)
    if not files:
        raise FileNotFoundError(f"{path}: no files matching {mapping.csv.files}")
    for file in files:
        missing = mapping.missing_columns(read_header(file, mapping))
        if missing:
            raise MappingError(
                f"{file.name}: no column {', '.join(missing)} in the header, but "
                f"{mapping.path.name} maps them; fix the mapping or pass the right one"
            )
    with _Workers(loader) as workers:
        # hash each file while the previous one loads, and read the store meanwhile
        scans = [workers.scanner.submit(scan, f, mapping.csv.encoding) for f in files[:1]]
        resolvers = build_resolvers(loader.engine, mapping)
        # batches of consecutive files overlap: the queue is only drained at the end
        queue = _Queue(workers, progress)
        try:
            for i, file in enumerate(files):
                if i + 1 < len(files):
                    scans.append(workers.scanner.submit(scan, files[i + 1], mapping.csv.encoding))
                digest, clean = scans[i].result()
                _load_file(
                    workers,
                    resolvers,
                    FileReader(file, mapping, clean, EVENT_BATCH_ROWS),
                    digest[:20],
                    queue,
                )
            queue.drain()
        except BaseException:
            queue.abandon()
            raise


class _Workers:
    """A small thread pool whose threads each load through their own Loader.

    A Loader keeps per-run counts and caches, so every thread gets a sibling on the same
    stores; their counts are added to the caller's loader at the end.
    """

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self._local = threading.local()
        self._siblings: list[Loader] = []
        self._lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="access-log")
        self.scanner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-log-scan")

    def sibling(self) -> Loader:
        found: Loader | None = getattr(self._local, "loader", None)
        if found is None:
            found = Loader(self.loader.engine, self.loader.protector, self.loader.lake_dir)
            self._local.loader = found
            with self._lock:
                self._siblings.append(found)
        return found

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
        self.scanner.shutdown(wait=True, cancel_futures=True)
        for sibling in self._siblings:
            self.loader.report.merge(sibling.report)


def _to_text(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """Binary cells as UTF-8 text; cells that are not valid UTF-8 become null and flagged."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    with contextlib.suppress(pa.ArrowInvalid):
        return arr.cast(pa.string()), np.zeros(len(arr), dtype=bool)
    # some cell is not UTF-8 (only in files that failed the encoding scan): find which
    cells: list[bytes | None] = arr.to_pylist()
    bad = np.zeros(len(cells), dtype=bool)
    text: list[str | None] = []
    for i, cell in enumerate(cells):
        try:
            text.append(None if cell is None else cell.decode("utf-8"))
        except UnicodeDecodeError:
            text.append(None)
            bad[i] = True
    return pa.array(text, pa.string()), bad


class _Queue:
    """Batches handed to the workers, in file order, with each file's end marked.

    At most :data:`WORKERS` batches are in flight; a file's malformed lines are
    quarantined once every batch of that file has finished.
    """

    def __init__(self, workers: _Workers, progress: Progress | None) -> None:
        self.workers = workers
        self.progress = progress
        self.items: deque[Future[int] | FileReader] = deque()
        self.running = 0

    def submit(self, future: Future[int]) -> None:
        self.items.append(future)
        self.running += 1
        while self.running >= WORKERS:
            self._finish_one()

    def end_of_file(self, reader: FileReader) -> None:
        self.items.append(reader)

    def _finish_one(self) -> None:
        item = self.items.popleft()
        if isinstance(item, FileReader):
            _quarantine_malformed(self.workers.loader, item)
            return
        self.running -= 1
        rows = item.result()
        if self.progress is not None:
            self.progress(ACCESS_EVENTS.name, rows, 0)

    def drain(self) -> None:
        while self.items:
            self._finish_one()

    def abandon(self) -> None:
        """Let running batches finish (cancelling queued ones) before an error surfaces."""
        futures = [item for item in self.items if isinstance(item, Future)]
        for future in futures:
            future.cancel()
        wait(futures)
        self.items.clear()


def _load_file(
    workers: _Workers,
    resolvers: Resolvers,
    reader: FileReader,
    digest: str,
    queue: _Queue,
) -> None:
    """Read one file's batches and queue them for the workers (two at a time)."""
    path = reader.path
    batches = reader.batches()
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeError, csv.Error) as exc:
            workers.loader.reject_unparseable(
                source=str(path),
                location=f"after record {reader.rows_read}",
                record_type=ACCESS_EVENTS.name,
                reason=f"the rest of the file cannot be read as CSV: {show(str(exc), 160)}",
                raw=None,
            )
            break
        queue.submit(workers.pool.submit(_load_batch, workers, resolvers, reader, batch, digest))
    queue.end_of_file(reader)


def _quarantine_malformed(loader: Loader, reader: FileReader) -> None:
    if not reader.invalid:
        return
    with loader.engine.begin() as conn:
        for line, text, fields in reader.invalid:
            loader.quarantine(
                conn,
                source=str(reader.path),
                location=f"line {line}" if line is not None else "line ?",
                record_type=ACCESS_EVENTS.name,
                reason=f"line has {fields} fields, the header has {len(reader.header)}",
                raw=text,
            )


def _load_batch(
    workers: _Workers, resolvers: Resolvers, reader: FileReader, batch: RawBatch, digest: str
) -> int:
    loader = workers.sibling()
    texts: dict[str, pa.Array] = {}
    bad_text = np.zeros(batch.table.num_rows, dtype=bool)
    for name in batch.table.column_names:
        texts[name], bad = _to_text(batch.table.column(name))
        bad_text |= bad
    raw = pa.table(texts)
    mapped = map_batch(raw, bad_text, reader.mapping, resolvers)
    source = str(reader.path)
    if mapped.rejected:
        with loader.engine.begin() as conn:
            for row, reason in mapped.rejected:
                loader.quarantine(
                    conn,
                    source=source,
                    location=reader.location(batch, row),
                    record_type=ACCESS_EVENTS.name,
                    reason=reason,
                    raw=_raw_row(batch.table, row),
                )
    kept = mapped.kept
    loader.load(
        ACCESS_EVENTS,
        mapped.events,
        source=source,
        locate=lambda i: reader.location(batch, int(kept[i])),
        batch_key=f"{digest}-{batch.number:05d}",
        checked_references=_known_references(loader, mapped),
    )
    return int(batch.table.num_rows)


def _known_references(loader: Loader, mapped: MappedBatch) -> frozenset[str]:
    """Reference columns whose every value is a known key, checked on distinct lookup targets.

    The values come from lookups, so each lookup target is checked once instead of every
    row; a column with an unknown value is left to the loader, which quarantines its rows.
    """
    checked = set()
    for column, target in EVENT_REFERENCES.items():
        if column not in mapped.references:
            continue
        targets, positions = mapped.references[column]
        if positions.null_count:
            continue
        known = pc.is_in(targets, value_set=loader.known_array_now(target))
        if pc.all(pc.take(known, positions)).as_py() is not False:
            checked.add(column)
    return frozenset(checked)


def _raw_row(table: pa.Table, row: int) -> dict[str, str | None]:
    values = table.slice(row, 1).to_pylist()[0]
    return {
        k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v for k, v in values.items()
    }
