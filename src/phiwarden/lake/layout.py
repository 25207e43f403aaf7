"""Where the event lake keeps its files, and how to list them.

The lake is plain Parquet on disk so that any engine (DuckDB, Spark, a person with
pyarrow) can read it without a catalog::

    <lake_dir>/access_events/day=YYYY-MM-DD/part-<batch_id>.parquet

One file per ingested batch and day. Names starting with ``.`` or ``_`` are in-flight
temporary files or engine bookkeeping, never data: every listing here skips them, as do
DuckDB and Spark when they list a folder.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

EVENTS_DIR = "access_events"
PARTITION_KEY = "day"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
TEMP_SUFFIX = ".tmp"

_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_PARTITION = re.compile(rf"{PARTITION_KEY}=(\d{{4}}-\d{{2}}-\d{{2}})")


def validate_batch_id(batch_id: str) -> str:
    """Return ``batch_id`` if it is safe as part of a file name, else raise ValueError.

    Only ``A-Z a-z 0-9 _ -`` (1 to 128 characters) are allowed, so a batch id can never
    escape its day folder or collide with a hidden temporary file.
    """
    if not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
        raise ValueError(
            f"invalid batch_id {batch_id!r}: use 1-128 characters from A-Z a-z 0-9 _ - "
            "(for example a hex content hash)"
        )
    return batch_id


def events_root(lake_dir: Path) -> Path:
    """The folder holding the access-event partitions."""
    return Path(lake_dir) / EVENTS_DIR


def partition_name(day: date) -> str:
    """The folder name of one day's partition, ``day=YYYY-MM-DD``."""
    return f"{PARTITION_KEY}={day.isoformat()}"


def parse_partition(name: str) -> date | None:
    """The day of a partition folder name, or None if the name is not a partition."""
    match = _PARTITION.fullmatch(name)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def day_dir(lake_dir: Path, day: date) -> Path:
    """The folder of one day's partition (it may not exist yet)."""
    return events_root(lake_dir) / partition_name(day)


def part_name(batch_id: str) -> str:
    """The final file name of one batch's part in a day folder."""
    return f"{PART_PREFIX}{validate_batch_id(batch_id)}{PART_SUFFIX}"


def part_path(lake_dir: Path, day: date, batch_id: str) -> Path:
    """The final path of one batch's part for one day."""
    return day_dir(lake_dir, day) / part_name(batch_id)


def is_hidden(name: str) -> bool:
    """True for names readers must skip (temporary files, engine bookkeeping)."""
    return name.startswith((".", "_"))


def is_temp_file(name: str) -> bool:
    """True for a temporary part left by this lake's writer (see ``writer``)."""
    return name.startswith(f".{PART_PREFIX}") and name.endswith(TEMP_SUFFIX)


def is_part_file(name: str) -> bool:
    """True for a complete, visible data file."""
    return not is_hidden(name) and name.endswith(PART_SUFFIX)


def list_days(lake_dir: Path) -> list[date]:
    """Days that have a partition folder, oldest first (empty for a missing lake)."""
    root = events_root(lake_dir)
    if not root.is_dir():
        return []
    days = [parse_partition(entry.name) for entry in root.iterdir() if entry.is_dir()]
    return sorted(d for d in days if d is not None)


def list_day_dirs(
    lake_dir: Path, since: date | None = None, until: date | None = None
) -> list[tuple[date, Path]]:
    """(day, folder) pairs with ``since <= day <= until`` (both inclusive), oldest first."""
    return [
        (day, day_dir(lake_dir, day))
        for day in list_days(lake_dir)
        if (since is None or day >= since) and (until is None or day <= until)
    ]


def list_files(lake_dir: Path, since: date | None = None, until: date | None = None) -> list[Path]:
    """Complete data files of the days ``since..until`` (inclusive), in day then name order."""
    files: list[Path] = []
    for _, folder in list_day_dirs(lake_dir, since, until):
        files.extend(sorted(p for p in folder.iterdir() if is_part_file(p.name) and p.is_file()))
    return files
