"""The lake's openings: each day's access events rolled up into (user, patient, hour).

Access monitoring matches *openings*, not audit rows: one user opening one patient in one
clock hour, with the number of accesses, the first and last time and whether any broke
the glass. An hour never spans two days, so a day's openings depend on that day's events
alone and are kept beside them::

    <lake_dir>/access_openings/day=YYYY-MM-DD/openings-v1-<digest>.parquet

``digest`` names the event files the rollup was built from (a hash of their names: part
files are written once, atomically, named by their batch, and never rewritten). A reader
uses a day's rollup only when its digest is that of the day's files *now*; a day whose
files changed since (a later append), or that has no rollup, is grouped from its events
instead, with the same definition (:func:`openings_of_events`). A stale or missing
rollup therefore only costs time, never a wrong answer.

Ingest refreshes the rollups of the days it wrote; ``phiwarden monitor rollup`` and the
tick build the rest (a receiver appends every few seconds, so it leaves it to them).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phiwarden.lake.layout import (
    day_dir,
    is_part_file,
    list_day_dirs,
    partition_name,
)
from phiwarden.lake.writer import write_parquet_atomic

OPENINGS_DIR = "access_openings"
#: bump when the openings' definition or columns change: older rollups are then ignored
VERSION = 1
_PREFIX = f"openings-v{VERSION}-"
TS = pa.timestamp("us")
SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string()),
        pa.field("patient_id", pa.string()),
        pa.field("hour", TS),
        pa.field("accesses", pa.int64()),
        pa.field("first", TS),
        pa.field("last", TS),
        pa.field("btg", pa.bool_()),
        # the opening's number in a run: (day as YYYYMMDD) << 32 | its row in the day's
        # file; the engine numbers the days it groups itself below zero (see reader)
        pa.field("oid", pa.int64()),
    ]
)
#: the event columns an opening is built from
EVENT_COLUMNS = ("user_id", "patient_id", "ts", "break_the_glass")


def openings_root(lake_dir: Path) -> Path:
    """The folder holding each day's openings."""
    return Path(lake_dir) / OPENINGS_DIR


def event_parts(folder: Path) -> list[Path]:
    """A day folder's complete event files, by name."""
    if not folder.is_dir():
        return []
    return sorted(Path(e.path) for e in os.scandir(folder) if is_part_file(e.name) and e.is_file())


def digest_of(parts: Iterable[Path]) -> str:
    """What a rollup was built from: a hash of the event files' names."""
    h = hashlib.sha256()
    for path in parts:
        h.update(path.name.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def rollup_path(lake_dir: Path, day: date, digest: str) -> Path:
    """Where the rollup of ``day`` built from files with ``digest`` lives."""
    return openings_root(lake_dir) / partition_name(day) / f"{_PREFIX}{digest}.parquet"


def fresh_rollup(lake_dir: Path, day: date, parts: list[Path] | None = None) -> Path | None:
    """The day's rollup if it was built from the day's event files as they are now."""
    parts = event_parts(day_dir(lake_dir, day)) if parts is None else parts
    if not parts:
        return None
    path = rollup_path(lake_dir, day, digest_of(parts))
    return path if path.is_file() else None


def split_window(
    lake_dir: Path, since: date | None = None, until: date | None = None
) -> tuple[list[Path], list[Path]]:
    """(fresh rollups, event files of the days without one) for the days ``since..until``."""
    rollups: list[Path] = []
    events: list[Path] = []
    for day, folder in list_day_dirs(Path(lake_dir), since, until):
        parts = event_parts(folder)
        fresh = fresh_rollup(lake_dir, day, parts)
        if fresh is not None:
            rollups.append(fresh)
        else:
            events.extend(parts)
    return rollups, events


def openings_of_events(events: pa.Table) -> pa.Table:
    """One day's events (:data:`EVENT_COLUMNS`) as openings with :data:`SCHEMA`.

    The same definition as the engines' grouping in :func:`phiwarden.lake.reader.openings_of`:
    the hour is the event time truncated to the hour; a missing break-the-glass is false.
    """
    table = pa.table(
        {
            "user_id": events.column("user_id"),
            "patient_id": events.column("patient_id"),
            "hour": pc.floor_temporal(events.column("ts"), unit="hour"),
            "ts": events.column("ts"),
            "btg": pc.fill_null(events.column("break_the_glass"), False),
        }
    )
    grouped = table.group_by(["user_id", "patient_id", "hour"], use_threads=False).aggregate(
        [([], "count_all"), ("ts", "min"), ("ts", "max"), ("btg", "any")]
    )
    out = pa.table(
        {
            "user_id": grouped.column("user_id"),
            "patient_id": grouped.column("patient_id"),
            "hour": grouped.column("hour"),
            "accesses": grouped.column("count_all"),
            "first": grouped.column("ts_min"),
            "last": grouped.column("ts_max"),
            "btg": grouped.column("btg_any"),
        }
    )
    out = out.sort_by([("hour", "ascending"), ("user_id", "ascending")])
    if out.num_rows:
        day = out.column("hour")[0].as_py().date()
        base = (day.year * 10000 + day.month * 100 + day.day) << 32
        out = out.append_column("oid", pa.array(np.arange(base, base + out.num_rows)))
    else:
        out = out.append_column("oid", pa.array([], pa.int64()))
    return out.cast(SCHEMA)


def refresh_openings(lake_dir: Path, days: Iterable[date] | None = None) -> list[date]:
    """Build the rollup of each day (every day of the lake when None) that has no fresh
    one, and remove that day's stale rollups; returns the days built.

    A day holding an event outside its own date (a file put there by hand) gets no
    rollup: its readers group its events, as before.
    """
    lake_dir = Path(lake_dir)
    folders = (
        list_day_dirs(lake_dir)
        if days is None
        else [(d, day_dir(lake_dir, d)) for d in sorted(set(days))]
    )
    built: list[date] = []
    for day, folder in folders:
        parts = event_parts(folder)
        if not parts or fresh_rollup(lake_dir, day, parts) is not None:
            continue
        start = datetime.combine(day, time())
        end = start + timedelta(days=1)
        if _strays_in_footers(parts, start, end):  # known without reading the rows
            continue
        events = pq.read_table(parts, columns=list(EVENT_COLUMNS))
        ts = events.column("ts")
        if events.num_rows and (pc.min(ts).as_py() < start or pc.max(ts).as_py() >= end):
            continue
        target = rollup_path(lake_dir, day, digest_of(parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(openings_of_events(events), target)
        for old in target.parent.iterdir():
            if old.name.startswith("openings-") and old != target:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        built.append(day)
    return built


def _strays_in_footers(parts: list[Path], start: datetime, end: datetime) -> bool:
    """True when a file's own statistics put an event outside ``start..end``: the tick
    then skips such a day at the cost of its footers, not of reading its events."""
    for path in parts:
        meta = pq.read_metadata(path)
        column = meta.schema.to_arrow_schema().get_field_index("ts")
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(column).statistics
            if stats is not None and stats.has_min_max and (stats.min < start or stats.max >= end):
                return True
    return False


__all__ = [
    "EVENT_COLUMNS",
    "OPENINGS_DIR",
    "SCHEMA",
    "VERSION",
    "digest_of",
    "event_parts",
    "fresh_rollup",
    "openings_of_events",
    "openings_root",
    "refresh_openings",
    "rollup_path",
    "split_window",
]
