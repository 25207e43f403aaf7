"""Read store queries straight into Arrow tables through ADBC drivers.

Analyses read hundreds of thousands of operational rows per run; through SQLAlchemy each
becomes a Python row object first. ADBC drivers hand back Arrow columns directly.

- PostgreSQL: its ADBC driver, in this process.
- SQLite: the ADBC SQLite driver bundles its own SQLite library, and two SQLite libraries
  in one process break each other's POSIX file locks (measured: the next WAL connection
  of the standard driver failed with "disk I/O error"). So the queries run in a child
  process (:mod:`phiwarden.store.sqlite_child`, importing Arrow and the driver only),
  which is just another reader of the database file as far as SQLite is concerned, and
  stream back as Arrow IPC. At 3M
  accesses that reads the monitor's tables in 0.9 s against 2.7 s through the standard
  driver (``benchmarks/bench_monitor.py``).
- Anything else, or without the ADBC driver installed: the raw rows of SQLAlchemy's
  driver cursor.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Engine, Select, false
from sqlalchemy.engine import make_url

_LENGTH = struct.Struct("<Q")


def sql_literal(value: datetime | date) -> str:
    """A date or time as an SQL string literal in the store's text form.

    SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' text and compares them as text;
    PostgreSQL casts the literal to the column's type.
    """
    if isinstance(value, datetime):
        return "'" + value.strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
    return "'" + value.isoformat() + "'"


#: what :func:`read_arrow_many` does with each table as it arrives: (name, raw) -> table
Finish = Callable[[str, pa.Table], pa.Table]


def read_arrow_many(
    engine: Engine, queries: Mapping[str, Select[Any]], finish: Finish | None = None
) -> dict[str, pa.Table]:
    """Run each query (literals only, no bound parameters) and return its rows as Arrow.

    Column types are the driver's: SQLite gives text for dates and times, 0/1 for
    booleans; the caller casts, best in ``finish``: it is applied to each table as soon as
    it is read, in the reading thread, so on SQLite typing one table overlaps reading the
    next (Arrow's kernels release the GIL). Queries are started in the order given:
    put the longest first.
    """
    url = engine.url
    sql = {
        name: str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        for name, q in queries.items()
    }
    done = finish or _as_read
    backend = url.get_backend_name()
    if (
        backend == "sqlite"
        and url.database not in (None, "", ":memory:")
        and importlib.util.find_spec("adbc_driver_sqlite") is not None
    ):
        return _sqlite_in_children(str(url.database), sql, done)
    if backend == "postgresql" and importlib.util.find_spec("adbc_driver_postgresql"):
        import adbc_driver_postgresql.dbapi as adbc_pg

        plain = make_url(str(url.set(drivername="postgresql")))
        out: dict[str, pa.Table] = {}
        with adbc_pg.connect(plain.render_as_string(hide_password=False)) as pg:
            for name, text in sql.items():
                with pg.cursor() as cur:
                    cur.execute(text)
                    out[name] = done(name, cur.fetch_arrow_table())
        return out
    return {name: done(name, _through_sqlalchemy(engine, q)) for name, q in queries.items()}


def _as_read(name: str, table: pa.Table) -> pa.Table:
    return table


def typed_table(raw: pa.Table, types: Mapping[str, pa.DataType]) -> pa.Table:
    """Cast a driver's columns to the given types (SQLite gives text times, 0/1 bools);
    columns not named in ``types`` keep the type they were read with."""
    arrays = []
    for name in raw.column_names:
        col = raw.column(name)
        target = types.get(name)
        if target is None or col.type == target:
            arrays.append(col)
        elif col.type == pa.null() or col.null_count == len(col):
            arrays.append(pa.nulls(len(col), target))
        elif pa.types.is_string(col.type) and pa.types.is_timestamp(target):
            arrays.append(pc.cast(pc.replace_substring(col, " ", "T"), pa.timestamp("us")))
        else:
            arrays.append(col.cast(target))
    return pa.table(arrays, names=raw.column_names)


#: keys per IN list of :func:`read_arrow_where_in`
IN_CHUNK = 5000


def read_arrow_where_in(
    engine: Engine, query: Select[Any], column: ColumnElement[Any], keys: Sequence[Any]
) -> pa.Table:
    """The rows of ``query`` whose ``column`` is among ``keys``, as Arrow, through the
    store's own driver in IN lists of bounded size: for a few thousand keys on an index,
    quicker than starting a reader process. Types as in :func:`read_arrow_many`."""
    rows: list[Any] = []
    names: list[str] = []
    with engine.connect() as conn:
        for i in range(0, max(len(keys), 1), IN_CHUNK):
            chunk = keys[i : i + IN_CHUNK]
            result = conn.execute(query.where(column.in_(chunk) if chunk else false()))
            names = list(result.keys())
            rows.extend(_driver_rows(result))
    return _table(names, rows)


def _through_sqlalchemy(engine: Engine, query: Select[Any]) -> pa.Table:
    with engine.connect() as conn:
        result = conn.execute(query)
        return _table(list(result.keys()), _driver_rows(result))


def _driver_rows(result: Any) -> list[Any]:
    """The driver's rows of a result, without building SQLAlchemy Row objects."""
    cursor = result.cursor
    return cursor.fetchall() if cursor is not None else []


def _table(names: list[str], rows: list[Any]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table([pa.array(c) for c in columns], names=names)


#: child processes reading the SQLite store at once (each takes the next query when free)
READERS = max(1, min(2, os.cpu_count() or 1))


def _sqlite_in_children(path: str, sql: Mapping[str, str], finish: Finish) -> dict[str, pa.Table]:
    """Run the queries in :data:`READERS` children reading at once: SQLite serves
    concurrent readers, and each child spends most of its time in the driver. Each child
    is handed its next query when it answers the last, so a long query does not hold back
    a fixed share (at 10M accesses the monitor's 12 queries took 1.07-1.15 s so, against
    1.30-1.46 s in halves)."""
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for name in sql:
        pending.put(name)
    readers = min(READERS, len(sql))
    if readers <= 1:
        return _sqlite_in_child(path, sql, pending, finish)
    with ThreadPoolExecutor(readers) as pool:
        parts = list(
            pool.map(lambda _: _sqlite_in_child(path, sql, pending, finish), range(readers))
        )
    merged = {name: table for part in parts for name, table in part.items()}
    return {name: merged[name] for name in sql}


def _sqlite_in_child(
    path: str, sql: Mapping[str, str], pending: queue.SimpleQueue[str], finish: Finish
) -> dict[str, pa.Table]:
    """Run queries from ``pending`` with ADBC in a child process until none is left;
    tables come back as Arrow IPC, one query in flight at a time."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "phiwarden.store.sqlite_child", path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out: dict[str, pa.Table] = {}
    failed = False
    try:
        while True:
            try:
                name = pending.get_nowait()
            except queue.Empty:
                break
            proc.stdin.write(json.dumps(sql[name]).encode() + b"\n")
            proc.stdin.flush()
            # A child that died mid-stream answers short; its stderr below says why.
            try:
                raw = _read_one(proc.stdout)
            except (EOFError, pa.ArrowInvalid):
                failed = True
                break
            out[name] = finish(name, raw)
    except BrokenPipeError:
        failed = True
    finally:
        # the child ends at end of input, and is reaped whatever went wrong here
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace").strip()
        code = proc.wait()
    if code != 0 or failed:
        raise RuntimeError(f"reading the SQLite store {path} failed: {error or 'no output'}")
    return out


def _read_one(stream: IO[bytes]) -> pa.Table:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    return pa.ipc.open_stream(pa.py_buffer(stream.read(size))).read_all()
