"""Append access events to the lake: validated, split by day, written atomically and once.

Why each rule exists:

- **Atomic files.** Each day's part is written to a hidden temporary file in the same
  folder (``.part-<batch>.parquet.<pid>.<random>.tmp``), flushed and fsynced, renamed
  over the final name with ``os.replace`` (atomic on POSIX and Windows), and the folder
  is fsynced so the rename survives a power cut. A reader listing the folder sees either
  no file or a complete one, never half a file.
- **Idempotent batches.** Ingest derives ``batch_id`` from a content hash of its source,
  so a day that already has ``part-<batch_id>.parquet`` is skipped: re-ingesting a file,
  or re-running an append that crashed half-way through its days, adds nothing twice.
  A batch id must therefore name one content: the same id with other rows is skipped.
- **Crash leftovers.** A writer killed mid-write leaves its hidden temporary file. Readers
  ignore it; the next append removes temporary files older than ``stale_after``
  (30 minutes by default, far longer than writing one day's part takes) anywhere in the
  lake. :func:`remove_stale_temp_files` does the same on demand.
- **Layout for scans.** Rows in a file are sorted by ``ts`` and compressed with zstd in
  row groups of 256 Ki rows, so engines prune row groups by time and read them in parallel.
  The days of one batch are written by a few threads at once (``WRITE_THREADS``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.lake.layout import (
    TEMP_SUFFIX,
    day_dir,
    is_part_file,
    is_temp_file,
    list_day_dirs,
    part_name,
    validate_batch_id,
)

ROW_GROUP_SIZE = 256 * 1024
STALE_TEMP_AGE = timedelta(minutes=30)
COMPRESSION = "zstd"
WRITE_THREADS = min(4, os.cpu_count() or 1)

_US_PER_DAY = 86_400 * 1_000_000
_EPOCH = date(1970, 1, 1)
#: Columns whose values are mostly unique: dictionary encoding them only costs time.
_NO_DICTIONARY = frozenset({"event_id", "ts", "patient_id", "first", "last"})


@dataclass(frozen=True)
class AppendResult:
    """What one append did: files written and skipped (already present), and row counts."""

    batch_id: str
    days_written: tuple[date, ...]
    days_skipped: tuple[date, ...]
    files_written: tuple[Path, ...]
    files_skipped: tuple[Path, ...]
    rows_written: int
    rows_skipped: int
    removed_temp_files: tuple[Path, ...]

    @property
    def already_present(self) -> bool:
        """True when every day of the batch was in the lake before (a re-ingest)."""
        return not self.files_written and bool(self.files_skipped)


def conform_events(events: pa.Table) -> pa.Table:
    """Return ``events`` cast to ``ACCESS_EVENTS.schema`` in canonical column order.

    Optional columns that are absent become nulls. Raises ValueError naming the column
    when a required column is missing or null, a column is unknown, or a value cannot
    be converted.
    """
    if isinstance(events, pa.RecordBatch):
        events = pa.Table.from_batches([events])
    if not isinstance(events, pa.Table):
        raise TypeError(f"events must be a pyarrow.Table, got {type(events).__name__}")
    schema = ACCESS_EVENTS.schema
    names = events.column_names
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"access events have duplicated column(s) {_names(duplicated)}")
    unknown = [n for n in names if n not in schema.names]
    if unknown:
        raise ValueError(
            f"access events have unexpected column(s) {_names(unknown)}: the lake holds only "
            f"{_names(schema.names)}; rename or drop them"
        )
    missing = [n for n in ACCESS_EVENTS.required if n not in names]
    if missing:
        raise ValueError(
            f"access events are missing required column(s) {_names(missing)}: "
            f"required are {_names(ACCESS_EVENTS.required)}"
        )
    columns = [
        _cast_column(field, events.column(field.name))
        if field.name in names
        else pa.nulls(events.num_rows, field.type)
        for field in schema
    ]
    table = pa.Table.from_arrays(columns, schema=schema)
    for name in ACCESS_EVENTS.required:
        nulls = table.column(name).null_count
        if nulls:
            raise ValueError(
                f"column {name!r} has {nulls} null value(s) but is required: "
                "quarantine those events before they reach the lake"
            )
    return table


def append_events(
    lake_dir: Path,
    events: pa.Table,
    batch_id: str,
    *,
    row_group_size: int = ROW_GROUP_SIZE,
    stale_after: timedelta = STALE_TEMP_AGE,
) -> AppendResult:
    """Add one batch of access events to the lake, one atomic file per day of ``ts``.

    A day that already holds ``part-<batch_id>.parquet`` is skipped, so appending the
    same batch again is a no-op. Raises ValueError for a bad ``batch_id`` or for events
    that do not fit ``ACCESS_EVENTS`` (before anything is written).
    """
    validate_batch_id(batch_id)
    if row_group_size < 1:
        raise ValueError(f"row_group_size must be positive, got {row_group_size}")
    table = conform_events(events)
    lake_dir = Path(lake_dir)
    removed = remove_stale_temp_files(lake_dir, older_than=stale_after)
    order, ranges = _plan_days(table)
    todo: list[tuple[date, Path, int, int]] = []
    skipped: list[tuple[date, Path, int]] = []
    for day, lo, hi in ranges:
        final = day_dir(lake_dir, day) / part_name(batch_id)
        if final.exists():
            skipped.append((day, final, hi - lo))
        else:
            todo.append((day, final, lo, hi))

    def write(item: tuple[date, Path, int, int]) -> int:
        _, final, lo, hi = item
        _ensure_dir(final.parent)
        rows = _drop_stored_events(_rows(table, order, lo, hi), final.parent)
        if rows.num_rows:
            write_parquet_atomic(rows, final, row_group_size)
        return rows.num_rows

    # Days are independent files: gather and compress them in parallel (Arrow and
    # Parquet release the GIL). A failure leaves finished days, which a re-run skips.
    if len(todo) > 1:
        with ThreadPoolExecutor(max_workers=min(len(todo), WRITE_THREADS)) as pool:
            counts = list(pool.map(write, todo))
    else:
        counts = [write(item) for item in todo]
    written = [(day, final, n) for (day, final, _, _), n in zip(todo, counts, strict=True) if n]
    already = sum(hi - lo for (_, _, lo, hi) in todo) - sum(counts)
    return AppendResult(
        batch_id=batch_id,
        days_written=tuple(d for d, _, _ in written),
        days_skipped=tuple(d for d, _, _ in skipped),
        files_written=tuple(p for _, p, _ in written),
        files_skipped=tuple(p for _, p, _ in skipped),
        rows_written=sum(n for _, _, n in written),
        rows_skipped=sum(n for _, _, n in skipped) + already,
        removed_temp_files=tuple(removed),
    )


def _drop_stored_events(rows: pa.Table, folder: Path) -> pa.Table:
    """Leave out events whose ``event_id`` a file of that day already holds.

    Batch files make re-runs of one source idempotent; this makes overlapping sources
    idempotent too (two exports sharing a day, a source fixed and ingested again): the
    same event id is stored once. Only the ``event_id`` column of that day is read.
    """
    stored = [
        pq.read_table(path, columns=["event_id"]).column("event_id")
        for path in sorted(folder.iterdir())
        if is_part_file(path.name)
    ]
    if not stored:
        return rows
    ids = pa.chunked_array([c for col in stored for c in col.chunks], pa.string())
    return rows.filter(pc.invert(pc.is_in(rows.column("event_id"), value_set=ids.combine_chunks())))


def split_by_day(table: pa.Table) -> list[tuple[date, pa.Table]]:
    """Cut conformed events into one table per calendar day of ``ts``, each sorted by ``ts``."""
    order, ranges = _plan_days(table)
    return [(day, _rows(table, order, lo, hi)) for day, lo, hi in ranges]


def _plan_days(table: pa.Table) -> tuple[np.ndarray | None, list[tuple[date, int, int]]]:
    """The stable ``ts`` order of the rows (None if already sorted) and each day's range in it."""
    if table.num_rows == 0:
        return None, []
    micros = pc.cast(table.column("ts"), pa.int64()).to_numpy()
    order: np.ndarray | None = None
    if not np.all(micros[1:] >= micros[:-1]):  # feeds are often in time order already
        order = np.argsort(micros, kind="stable")
        micros = micros[order]
    day_numbers = np.floor_divide(micros, _US_PER_DAY)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_numbers)) + 1))
    ends = np.append(starts[1:], len(day_numbers))
    ranges = [
        (_EPOCH + timedelta(days=int(day_numbers[lo])), int(lo), int(hi))
        for lo, hi in zip(starts, ends, strict=True)
    ]
    return order, ranges


def _rows(table: pa.Table, order: np.ndarray | None, lo: int, hi: int) -> pa.Table:
    """Rows ``lo:hi`` of the table in ``ts`` order."""
    if order is None:
        return table.slice(lo, hi - lo)
    return table.take(pa.array(order[lo:hi]))


def remove_stale_temp_files(
    lake_dir: Path, older_than: timedelta = STALE_TEMP_AGE, *, now: float | None = None
) -> list[Path]:
    """Delete writer temporary files older than ``older_than`` (leftovers of crashes).

    Younger ones may belong to a writer still running and are left alone.
    """
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    removed: list[Path] = []
    for _, folder in list_day_dirs(lake_dir):
        for entry in os.scandir(folder):
            if not is_temp_file(entry.name):
                continue
            try:
                if entry.stat().st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue  # another writer finished or removed it meanwhile
    return removed


def _cast_column(field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cast one column to its canonical type, or raise ValueError naming it."""
    if column.type == field.type:
        return column
    if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            raise ValueError(
                f"column {field.name!r} has time zone {column.type.tz!r}: the lake holds naive "
                "local wall-clock times; convert to the health system's zone and drop the zone"
            )
        # Nanoseconds (pandas' default) only lose sub-microsecond digits here.
        return pc.cast(column, field.type, safe=column.type.unit != "ns")
    try:
        return pc.cast(column, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"column {field.name!r} cannot be converted from {column.type} to {field.type}: {exc}"
        ) from exc


def write_parquet_atomic(
    table: pa.Table, final: Path, row_group_size: int = ROW_GROUP_SIZE
) -> None:
    """Write ``table`` to ``final`` via a hidden temp file, fsync, rename, fsync folder."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        pq.write_table(
            table,
            str(tmp),
            compression=COMPRESSION,
            row_group_size=row_group_size,
            use_dictionary=[n for n in table.column_names if n not in _NO_DICTIONARY],
        )
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _ensure_dir(folder: Path) -> None:
    """Create ``folder`` and missing parents, fsyncing each parent that gained an entry."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable; a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; NTFS journals renames itself
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on folders
            os.fsync(fd)
    finally:
        os.close(fd)


def _names(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)


__all__ = [
    "ROW_GROUP_SIZE",
    "STALE_TEMP_AGE",
    "AppendResult",
    "append_events",
    "conform_events",
    "remove_stale_temp_files",
    "split_by_day",
    "write_parquet_atomic",
]
