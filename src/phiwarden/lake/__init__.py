"""The event lake: access events as Parquet partitioned by day, read through Ibis.

``append_events`` writes (atomic, idempotent per batch), ``connect`` opens a DuckDB or
Spark backend, ``access_events`` reads a window of days as an Ibis table on it.

Names are imported on first use, so a process that only writes events (an ingest
worker, a listener) does not pay for importing Ibis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phiwarden.lake.engine import connect, open_backend, stop
    from phiwarden.lake.layout import list_days, list_files
    from phiwarden.lake.reader import LakeStats, access_events, empty_access_events, lake_stats
    from phiwarden.lake.writer import AppendResult, append_events, remove_stale_temp_files

_HOMES = {
    "connect": "engine",
    "open_backend": "engine",
    "stop": "engine",
    "list_days": "layout",
    "list_files": "layout",
    "LakeStats": "reader",
    "access_events": "reader",
    "empty_access_events": "reader",
    "lake_stats": "reader",
    "AppendResult": "writer",
    "append_events": "writer",
    "remove_stale_temp_files": "writer",
}

__all__ = [
    "AppendResult",
    "LakeStats",
    "access_events",
    "append_events",
    "connect",
    "empty_access_events",
    "lake_stats",
    "list_days",
    "list_files",
    "open_backend",
    "remove_stale_temp_files",
    "stop",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
