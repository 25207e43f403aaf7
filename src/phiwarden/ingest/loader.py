"""The shared loading path every reader ends in: validate, check references, store.

A reader hands over batches of raw records of one canonical type with where they came
from. Good records go to the operational store (idempotent inserts) or the event lake
(atomic, idempotent partition files); bad ones go to quarantine with source, line and
reason. A reference to a record the stores do not hold degrades instead of cascading: an
optional one (an encounter's department, a prescription's prescriber) loads as null and
is counted as a directory gap; an access event by a user or of a patient not in the
directory loads as it is (an unknown account is itself a monitoring signal) and is
counted. Only a record whose own subject is missing (a coverage of an unknown patient)
is quarantined. Each batch commits as one transaction, so a crash leaves whole batches or none,
and running the ingest again completes the load without duplicating anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine

from phiwarden.domain.canonical import ACCESS_EVENTS, BY_NAME, SENSITIVE, CanonicalTable
from phiwarden.formats import outcome
from phiwarden.formats.terminology import CodeMap
from phiwarden.ingest.report import IngestReport
from phiwarden.ingest.validate import validate
from phiwarden.lake.writer import append_events
from phiwarden.store import repositories as repo
from phiwarden.store.schema import references_of
from phiwarden.store.sensitive import Protector

Locate = Callable[[int], str]

#: Columns of an access event that must name known records.
EVENT_REFERENCES = {"user_id": "workforce", "patient_id": "patients"}


def line_locator(first_line: int) -> Locate:
    """Location of row i of a batch whose first row is on ``first_line``."""
    return lambda i: f"line {first_line + i}"


def _json_safe(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class Loader:
    """Loads validated batches into the stores and keeps the run's counts."""

    def __init__(
        self, engine: Engine, protector: Protector, lake_dir: Path, codes: CodeMap | None = None
    ) -> None:
        self.engine = engine
        self.protector = protector
        self.lake_dir = lake_dir
        self.report = IngestReport()
        #: how readers map codes (standard tables plus the hospital's mapping file)
        self.codes = codes or CodeMap()
        self._known: dict[str, set[str]] = {}
        self._known_arrays: dict[str, pa.Array] = {}
        #: the lake days this loader wrote events to (their openings are refreshed after)
        self.event_days: set[date] = set()

    def known_array(self, conn: Connection, table_name: str) -> pa.Array:
        """The known keys of a table as an Arrow array, rebuilt only after inserts."""
        if table_name not in self._known_arrays:
            keys = self.known_keys(conn, table_name)
            self._known_arrays[table_name] = pa.array(list(keys), pa.string())
        return self._known_arrays[table_name]

    def known_array_now(self, table_name: str) -> pa.Array:
        """:meth:`known_array`, opening a connection only when it is not cached yet."""
        cached = self._known_arrays.get(table_name)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            return self.known_array(conn, table_name)

    def known_keys(self, conn: Connection, table_name: str) -> set[str]:
        """Keys of a referenced table, read once per run and kept up to date."""
        if table_name not in self._known:
            self._known[table_name] = repo.existing_keys(conn, repo.domain_table(table_name))
        return self._known[table_name]

    def quarantine(
        self,
        conn: Connection,
        *,
        source: str,
        location: str,
        record_type: str,
        reason: str,
        raw: Any,
    ) -> None:
        """Put one rejected record in quarantine (raw content kept encrypted)."""
        text = raw if isinstance(raw, str) or raw is None else json.dumps(raw, default=str)
        repo.add_quarantine(
            conn,
            self.protector,
            source=source,
            location=location,
            record_type=record_type,
            reason=reason,
            raw=text,
        )
        self.report.quarantined += 1

    def reject_unparseable(
        self, *, source: str, location: str, record_type: str, reason: str, raw: str | None
    ) -> None:
        """Quarantine a record a reader could not even parse (malformed line, bad JSON)."""
        with self.engine.begin() as conn:
            self.quarantine(
                conn,
                source=source,
                location=location,
                record_type=record_type,
                reason=reason,
                raw=raw,
            )

    def load(
        self,
        table: CanonicalTable | str,
        raw: pa.Table,
        *,
        source: str,
        locate: Locate,
        batch_key: str,
        checked_references: Collection[str] = (),
    ) -> None:
        """Validate and store one batch of raw records of one type.

        ``checked_references`` names reference columns the caller has already found to
        hold only known keys (:meth:`known_array`, non-null): their check is skipped.
        """
        table = BY_NAME[table] if isinstance(table, str) else table
        if (
            table is ACCESS_EVENTS
            and "outcome" in raw.column_names
            and raw.column("outcome").null_count < raw.num_rows
        ):
            raw = raw.set_column(
                raw.column_names.index("outcome"),
                "outcome",
                outcome.normalise(raw.column("outcome")),
            )
        checked = validate(raw, table)
        with self.engine.begin() as conn:
            for rej in checked.rejections:
                self.quarantine(
                    conn,
                    source=source,
                    location=locate(rej.index),
                    record_type=table.name,
                    reason=rej.reason,
                    raw=self._raw_row(raw, rej.index),
                )
            good = self._check_references(
                conn, table, checked.table, checked.indices, raw, source, locate, checked_references
            )
            if table is ACCESS_EVENTS:
                self._store_events(good, batch_key)
            else:
                self._store_rows(conn, table, good)

    @staticmethod
    def _raw_row(raw: pa.Table, index: int) -> dict[str, Any]:
        return {k: _json_safe(v) for k, v in raw.slice(index, 1).to_pylist()[0].items()}

    def _check_references(
        self,
        conn: Connection,
        table: CanonicalTable,
        good: pa.Table,
        indices: pa.Array,
        raw: pa.Table,
        source: str,
        locate: Locate,
        checked: Collection[str] = (),
    ) -> pa.Table:
        events = table is ACCESS_EVENTS
        refs = EVENT_REFERENCES if events else references_of(table)
        refs = {column: target for column, target in refs.items() if column not in checked}
        if not refs or good.num_rows == 0:
            return good
        ok = pa.array(np.ones(good.num_rows, dtype=bool))
        for column, target in refs.items():
            values = good.column(column)
            known = self.known_array(conn, target)
            bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, known)))
            if not pc.any(bad).as_py():
                continue
            if events or column not in table.required:
                self.report.gap(table.name, column, pc.filter(values, bad))
                if not events:  # the record loads without the dangling reference
                    nulls = pa.nulls(len(values), values.type)
                    good = good.set_column(
                        good.schema.get_field_index(column), column, pc.if_else(bad, nulls, values)
                    )
                continue
            for i in pc.indices_nonzero(pc.and_(bad, ok)).to_pylist():
                src_index = indices[i].as_py()
                self.quarantine(
                    conn,
                    source=source,
                    location=locate(src_index),
                    record_type=table.name,
                    reason=f"unknown reference {column}={values[i].as_py()}",
                    raw=self._raw_row(raw, src_index),
                )
            ok = pc.and_(ok, pc.invert(bad))
        return good.filter(ok)

    def _store_rows(self, conn: Connection, table: CanonicalTable, good: pa.Table) -> None:
        rows = good.to_pylist()
        sensitive = [c for (t, c) in SENSITIVE if t == table.name]
        for row in rows:
            repo.protect_sensitive(row, sensitive, self.protector)
        result = repo.insert_rows(conn, repo.domain_table(table.name), rows)
        self.report.loaded[table.name] += result.inserted
        self.report.duplicates_skipped += result.duplicates
        if table.name in self._known and result.inserted:
            self._known[table.name].update(good.column(table.key).to_pylist())
            self._known_arrays.pop(table.name, None)

    def _store_events(self, good: pa.Table, batch_key: str) -> None:
        result = append_events(self.lake_dir, good, batch_key)
        self.event_days.update(result.days_written)
        self.report.loaded[ACCESS_EVENTS.name] += result.rows_written
        self.report.duplicates_skipped += result.rows_skipped
