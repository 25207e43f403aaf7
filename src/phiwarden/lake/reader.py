"""Read the event lake as an Ibis table on any backend, and summarise it cheaply.

Partition pruning is done here, not by the engine: we list the day folders in the
window and hand the backend the explicit list of files, so DuckDB and Spark read exactly
the same files and neither adds a ``day`` column from the folder names. The returned
table has exactly the ``ACCESS_EVENTS`` columns, in order, on every backend.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
from ibis import util
from ibis.backends import BaseBackend

from phiwarden.domain.canonical import ACCESS_EVENTS
from phiwarden.lake import openings as rollup
from phiwarden.lake.layout import list_files, parse_partition

#: Spark SQL types of the Arrow types used by the canonical schemas.
_SPARK_TYPES: dict[pa.DataType, str] = {
    pa.string(): "STRING",
    pa.timestamp("us"): "TIMESTAMP_NTZ",  # naive: Spark must not shift wall-clock times
    pa.bool_(): "BOOLEAN",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
}


class LakeStats(TypedDict):
    """Size of the lake from Parquet footers: no row data is read."""

    days: int
    files: int
    rows: int
    bytes: int
    first_day: str | None
    last_day: str | None


def access_events(
    con: BaseBackend,
    lake_dir: Path,
    since: date | None = None,
    until: date | None = None,
) -> ir.Table:
    """Access events of the days ``since..until`` (both inclusive; None = unbounded).

    An empty lake or window gives an empty table with the same schema, so analyses
    need no special case. The table covers the files present at the call: call again to
    see later appends. On a Spark cluster the lake must be on storage every executor sees.
    """
    if since is not None and until is not None and since > until:
        raise ValueError(f"since {since} is after until {until}: swap them")
    files = [str(path.absolute()) for path in list_files(Path(lake_dir), since, until)]
    return _read_files(con, files)


def _read_files(con: BaseBackend, files: list[str]) -> ir.Table:
    """Event files as the table :func:`access_events` returns (empty for no files)."""
    if not files:
        return empty_access_events(con)
    if con.name == "pyspark":
        table = _read_spark(con, files, ACCESS_EVENTS.schema, "access_events")
    elif con.name == "duckdb":
        # union_by_name: files written before a column was added (outcome) read it as null
        table = con.read_parquet(files, hive_partitioning=False, union_by_name=True)
    else:
        table = con.read_parquet(files)
    # DuckDB types the column timestamp(6), Spark plain timestamp: align on the latter
    # (a no-op cast on Spark) so tables from both engines have equal Ibis schemas.
    return table.select(*ACCESS_EVENTS.schema.names).cast(events_schema())


def openings_of(events: ir.Table) -> ir.Table:
    """Accesses as openings: (user, patient, hour) with count, first and last time, BTG.

    A burst of screens in one sitting is matched once instead of once per audit row. The
    lake keeps each day's openings (:mod:`phiwarden.lake.openings`); this is the same
    grouping in the engine, for the days that have no fresh rollup.
    """
    e = events
    return e.group_by(
        user_id=e.user_id, patient_id=e.patient_id, hour=e.ts.truncate("h")
    ).aggregate(
        accesses=e.count(),
        first=e.ts.min(),
        last=e.ts.max(),
        btg=e.break_the_glass.fill_null(False).any(),
    )


def numbered(openings: ir.Table) -> ir.Table:
    """Openings grouped by the engine, numbered as the rollups are but below zero:
    -((day as YYYYMMDD) << 32 | row within the day + 1), unique beside every rollup's."""
    h = openings.hour
    day = (h.year() * 10000 + h.month() * 100 + h.day()).cast("int64")
    row = ibis.row_number().over(ibis.window(group_by=day))
    return openings.mutate(oid=-(day * (1 << 32) + row.cast("int64") + 1))


def access_openings(
    con: BaseBackend,
    lake_dir: Path,
    since: date | None = None,
    until: date | None = None,
) -> ir.Table:
    """The openings (:func:`openings_of`) of the days ``since..until``: each day's fresh
    rollup where it has one, its events grouped by the engine where not.

    Equal, row for row, to ``openings_of(access_events(con, lake_dir, since, until))``,
    plus ``oid``: a number unique to each opening in the window, so a run can match and
    group openings by one integer instead of (user, patient, hour).
    """
    if since is not None and until is not None and since > until:
        raise ValueError(f"since {since} is after until {until}: swap them")
    rollups, raw = rollup.split_window(Path(lake_dir), since, until)
    parts: list[ir.Table] = []
    if rollups:
        files = [str(p.absolute()) for p in rollups]
        if con.name == "pyspark":
            table = _read_spark(con, files, rollup.SCHEMA, "access_openings")
        else:
            table = con.read_parquet(files)
        parts.append(table.select(*rollup.SCHEMA.names))
    if raw or not rollups:
        events = _read_files(con, [str(p.absolute()) for p in raw])
        parts.append(numbered(openings_of(events)))
    schema = openings_schema()
    typed = [p.select(*schema.names).cast(schema) for p in parts]
    return typed[0] if len(typed) == 1 else ibis.union(*typed)


def openings_schema() -> sch.Schema:
    """The Ibis schema of :func:`access_openings` on every backend."""
    return _plain_timestamps(rollup.SCHEMA)


def events_schema() -> sch.Schema:
    """The Ibis schema of :func:`access_events` on every backend (``ts`` is ``timestamp``)."""
    return _plain_timestamps(ACCESS_EVENTS.schema)


def _plain_timestamps(schema: pa.Schema) -> sch.Schema:
    """An Arrow schema in Ibis with every timestamp plain ``timestamp``: DuckDB types it
    ``timestamp(6)``, Spark ``timestamp``, and tables from both must compare equal."""
    base = sch.Schema.from_pyarrow(schema)
    return sch.Schema(
        {
            name: dt.Timestamp(nullable=t.nullable) if t.is_timestamp() else t
            for name, t in base.items()
        }
    )


def empty_access_events(con: BaseBackend | None = None) -> ir.Table:
    """An empty access-events table with the schema of :func:`access_events`.

    On Spark it is a native empty view (an Ibis memtable would go through pandas and
    cost a Spark job per query); elsewhere an in-memory table any backend can run.
    """
    if con is not None and con.name == "pyspark":
        nulls = ", ".join(
            f"CAST(NULL AS {_SPARK_TYPES[f.type]}) AS `{f.name}`" for f in ACCESS_EVENTS.schema
        )
        name = util.gen_name("access_events_empty")
        con.raw_sql(f"SELECT {nulls} WHERE false").createOrReplaceTempView(name)
        return con.table(name)
    return ibis.memtable(ACCESS_EVENTS.schema.empty_table(), schema=events_schema())


def lake_stats(lake_dir: Path) -> LakeStats:
    """Days, files, rows and bytes in the lake, from Parquet metadata only."""
    files = list_files(Path(lake_dir))
    rows = sum(pq.read_metadata(path).num_rows for path in files)
    days_with_files = sorted({d for f in files if (d := parse_partition(f.parent.name))})
    return LakeStats(
        days=len(days_with_files),
        files=len(files),
        rows=rows,
        bytes=sum(path.stat().st_size for path in files),
        first_day=days_with_files[0].isoformat() if days_with_files else None,
        last_day=days_with_files[-1].isoformat() if days_with_files else None,
    )


def _read_spark(con: BaseBackend, files: list[str], schema: pa.Schema, stem: str) -> ir.Table:
    """Register the files as a Spark temp view with ``schema`` and wrap it.

    Ibis's ``read_parquet`` on Spark takes one path; the session reads many, and a
    declared schema skips Spark's schema inference over every footer.
    """
    session: Any = getattr(con, "_session")  # noqa: B009  (ibis keeps no public accessor)
    # Spark treats every path as a Hadoop glob: escape its metacharacters.
    paths = [re.sub(r"([\\{}\[\]*?])", r"\\\1", f) for f in files]
    frame = session.read.schema(spark_ddl(schema)).parquet(*paths)
    name = util.gen_name(stem)
    frame.createOrReplaceTempView(name)
    return con.table(name)


def spark_ddl(schema: pa.Schema) -> str:
    """A Spark DDL schema string (``a STRING, b TIMESTAMP_NTZ``) for a canonical schema."""
    try:
        return ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in schema)
    except KeyError as exc:
        raise ValueError(f"no Spark type for Arrow type {exc.args[0]}") from exc


__all__ = [
    "LakeStats",
    "access_events",
    "access_openings",
    "empty_access_events",
    "events_schema",
    "lake_stats",
    "numbered",
    "openings_of",
    "openings_schema",
    "spark_ddl",
]
