"""Read the canonical layout: ``<table>.csv`` / ``<table>.parquet`` and ``access_events/``.

A folder is read in dependency order (facilities before departments before workforce ...)
so references resolve; a single file is recognised by its name (``patients.csv``,
``access_events.parquet``, ``access_events/day=.../part-0.parquet``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from phiwarden.domain.canonical import ACCESS_EVENTS, BY_NAME, OPERATIONAL_TABLES, CanonicalTable
from phiwarden.ingest.loader import Loader, line_locator

#: Operational records per batch (one transaction each); lower it to save memory.
BATCH_ROWS = int(os.environ.get("PHIWARDEN_INGEST_BATCH_ROWS", "50000"))
#: Access events per lake batch. Fixed, not tunable: the batch boundaries are part of each
#: lake file's identity, so a re-run must cut the source exactly as the first run did.
EVENT_BATCH_ROWS = 50_000
Progress = Callable[[str, int, int], None]


class UnknownTableError(ValueError):
    """A file whose name is not a canonical record type."""


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: re-ingesting the same file yields the same batch keys."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def table_for(path: Path) -> CanonicalTable:
    """The canonical record type a file holds, from its name or its folder's name."""
    if path.parent.name.startswith("day=") and path.parent.parent.name == ACCESS_EVENTS.name:
        return ACCESS_EVENTS
    stem = path.name.split(".")[0]
    if stem in BY_NAME:
        return BY_NAME[stem]
    raise UnknownTableError(
        f"{path.name}: not a canonical file; name it after a record type "
        f"({', '.join(BY_NAME)}) or pass --format"
    )


def canonical_files(root: Path) -> list[Path]:
    """Every canonical file under a folder, referenced types first, events last."""
    found: list[Path] = []
    for table in OPERATIONAL_TABLES:
        for ext in ("csv", "parquet"):
            candidate = root / f"{table.name}.{ext}"
            if candidate.is_file():
                found.append(candidate)
    for ext in ("csv", "parquet"):
        single = root / f"{ACCESS_EVENTS.name}.{ext}"
        if single.is_file():
            found.append(single)
    events_dir = root / ACCESS_EVENTS.name
    if events_dir.is_dir():
        found.extend(
            sorted(p for p in events_dir.rglob("*.parquet") if not p.name.startswith((".", "_")))
        )
        found.extend(sorted(events_dir.rglob("*.csv")))
    return found


def _csv_batches(path: Path, size: int) -> Iterator[tuple[pa.Table, int]]:
    header = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16))
    names = header.schema.names
    header.close()
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False
        ),
    )
    first_line = 2
    pending: pa.Table | None = None
    for batch in reader:
        block = pa.Table.from_batches([batch])
        pending = block if pending is None else pa.concat_tables([pending, block])
        while pending.num_rows >= size:
            yield pending.slice(0, size), first_line
            first_line += size
            pending = pending.slice(size)
    if pending is not None and pending.num_rows:
        yield pending, first_line


def _parquet_batches(path: Path, size: int) -> Iterator[tuple[pa.Table, int]]:
    pf = pq.ParquetFile(path)
    first_row = 1
    for batch in pf.iter_batches(batch_size=size):
        yield pa.Table.from_batches([batch]), first_row
        first_row += batch.num_rows


def load_file(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Load one canonical CSV or Parquet file through the shared path."""
    table = table_for(path)
    digest = file_digest(path)[:20]
    is_parquet = path.suffix == ".parquet"
    size = EVENT_BATCH_ROWS if table is ACCESS_EVENTS else BATCH_ROWS
    batches = _parquet_batches(path, size) if is_parquet else _csv_batches(path, size)
    for number, (raw, first) in enumerate(batches):
        locate = (lambda i, f=first: f"row {f + i}") if is_parquet else line_locator(first)
        loader.load(table, raw, source=str(path), locate=locate, batch_key=f"{digest}-{number:05d}")
        if progress:
            progress(table.name, raw.num_rows, 0)


def sniff(path: Path) -> bool:
    """True for a folder holding canonical files, or a file named after a record type."""
    if path.is_dir():
        return bool(canonical_files(path))
    if path.suffix.lower() not in (".csv", ".parquet"):
        return False
    try:
        table_for(path)
    except UnknownTableError:
        return False
    return True


def load(loader: Loader, root: Path, progress: Progress | None = None) -> None:
    """Load a canonical folder or a single canonical file."""
    files = canonical_files(root) if root.is_dir() else [root]
    if not files:
        raise FileNotFoundError(f"{root}: no canonical files here (expected e.g. patients.csv)")
    for path in files:
        load_file(loader, path, progress)
