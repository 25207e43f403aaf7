"""Read the canonical folder for the format exporters (FHIR, X12, mailbox).

The exporters turn ``canonical/<table>.csv`` into the input formats a hospital would
send. A table the generator did not write is read as empty, so an exporter still writes
the rest of its output.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from phiwarden.domain.canonical import CanonicalTable
from phiwarden.domain.canonical_io import read_csv

Row = dict[str, Any]


def load_table(canonical_dir: Path, table: CanonicalTable) -> pa.Table:
    """Read ``<canonical_dir>/<table>.csv`` with its schema, or an empty table if absent."""
    path = canonical_dir / f"{table.name}.csv"
    if not path.exists():
        return table.schema.empty_table()
    return read_csv(path, table)


def load_rows(canonical_dir: Path, table: CanonicalTable) -> list[Row]:
    """Read a canonical table as a list of row dicts sorted by its key (stable output)."""
    rows: list[Row] = load_table(canonical_dir, table).to_pylist()
    rows.sort(key=lambda r: str(r[table.key]))
    return rows


def iso_instant(value: datetime) -> str:
    """Format a canonical naive timestamp as an instant with ``Z``.

    Canonical times are the health system's wall clock without a zone; the exports write
    that wall clock unchanged with ``Z`` so a reader gets back exactly the same value.
    """
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(value: date) -> str:
    """Format a date as ``YYYY-MM-DD``."""
    return value.isoformat()
