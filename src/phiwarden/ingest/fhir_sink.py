"""Collect mapped canonical rows and hand them to the loader in batches.

Rows of one source file are buffered per canonical table with the location they came
from; a flush loads the tables in the canonical load order (patients before their
contacts, encounters before their care team), so a row never reaches the loader before
the rows it refers to. Buffers are flushed when they grow large and when the source
changes, since every ``Loader.load`` call names one source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from phiwarden.domain.canonical import BY_NAME, OPERATIONAL_TABLES, CanonicalTable
from phiwarden.ingest.loader import Loader

Row = dict[str, Any]
Progress = Callable[[str, int, int], None]

#: Rows buffered (over all tables) before they are loaded in one transaction per table.
FLUSH_ROWS = 5_000
_ORDER = {t.name: i for i, t in enumerate(OPERATIONAL_TABLES)}


def raw_type(field: pa.Field) -> pa.DataType:
    """The type a raw column is built with: strings, except flags and numbers.

    Dates and timestamps stay text so that the loader's validation parses them and
    quarantines the rows it cannot read, with the column named in the reason.
    """
    kind = field.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return kind
    return pa.string()


def raw_table(table: CanonicalTable, rows: list[Row]) -> pa.Table:
    """A raw batch with every column of ``table`` (missing values are null)."""
    columns = {}
    for field in table.schema:
        kind = raw_type(field)
        values = [row.get(field.name) for row in rows]
        if kind == pa.string():
            values = [v if v is None or isinstance(v, str) else str(v) for v in values]
        columns[field.name] = pa.array(values, kind)
    return pa.table(columns)


class Sink:
    """Per-source row buffers in front of ``Loader.load``."""

    def __init__(self, loader: Loader, progress: Progress | None = None) -> None:
        self.loader = loader
        self.progress = progress
        self.source = ""
        self.stage = ""
        self._rows: dict[str, list[Row]] = defaultdict(list)
        self._where: dict[str, list[str]] = defaultdict(list)
        self._pending = 0
        self._resources = 0

    def begin(self, source: str, stage: str) -> None:
        """Start rows of ``source`` for a progress stage (flushing another source's rows)."""
        if source != self.source or stage != self.stage:
            self.flush()
        self.source, self.stage = source, stage

    def add(self, table: str, row: Row, location: str) -> None:
        """Buffer one canonical row with the location of the resource it came from."""
        self._rows[table].append(row)
        self._where[table].append(location)
        self._pending += 1
        if self._pending >= FLUSH_ROWS:
            self.flush()

    def resource_done(self) -> None:
        """Count one resource read (for the progress display)."""
        self._resources += 1

    def flush(self) -> None:
        """Load every buffered table, referenced tables first."""
        for name in sorted(self._rows, key=lambda n: _ORDER.get(n, len(_ORDER))):
            rows, where = self._rows[name], self._where[name]
            if rows:
                self.loader.load(
                    BY_NAME[name],
                    raw_table(BY_NAME[name], rows),
                    source=self.source,
                    locate=where.__getitem__,
                    batch_key="",
                )
        self._rows.clear()
        self._where.clear()
        self._pending = 0
        if self.progress is not None and self._resources:
            self.progress(self.stage, self._resources, 0)
        self._resources = 0
