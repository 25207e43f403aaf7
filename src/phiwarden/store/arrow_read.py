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
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
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


def read_arrow_many(engine: Engine, queries: Mapping[str, Select[Any]]) -> dict[str, pa.Table]:
    """Run each query (literals only, no bound parameters) and return its rows as Arrow.

    Column types are the driver's: SQLite gives text for dates and times, 0/1 for
    booleans; the caller casts.
    """
    url = engine.url
    sql = {
        name: str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        for name, q in queries.items()
    }
    backend = url.get_backend_name()
    if (
        backend == "sqlite"
        and url.database not in (None, "", ":memory:")
        and importlib.util.find_spec("adbc_driver_sqlite") is not None
    ):
        return _sqlite_in_children(str(url.database), sql)
    if backend == "postgresql" and importlib.util.find_spec("adbc_driver_postgresql"):
        import adbc_driver_postgresql.dbapi as adbc_pg

        plain = make_url(str(url.set(drivername="postgresql")))
        out: dict[str, pa.Table] = {}
        with adbc_pg.connect(plain.render_as_string(hide_password=False)) as pg:
            for name, text in sql.items():
                with pg.cursor() as cur:
                    cur.execute(text)
                    out[name] = cur.fetch_arrow_table()
        return out
    return {name: _through_sqlalchemy(engine, q) for name, q in queries.items()}


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


#: child processes reading the SQLite store at once (each reads its share of the queries)
READERS = max(1, min(2, os.cpu_count() or 1))


def _sqlite_in_children(path: str, sql: Mapping[str, str]) -> dict[str, pa.Table]:
    """Share the queries among :data:`READERS` children reading at once: SQLite serves
    concurrent readers, and each child spends most of its time in the driver (measured at
    10M accesses: the monitor's 18 queries in 2.8 s by one child)."""
    names = list(sql)
    shares = [names[i::READERS] for i in range(READERS)]
    shares = [share for share in shares if share]
    if len(shares) < 2:
        return _sqlite_in_child(path, sql)
    with ThreadPoolExecutor(len(shares)) as pool:
        parts = list(
            pool.map(lambda share: _sqlite_in_child(path, {n: sql[n] for n in share}), shares)
        )
    merged = {name: table for part in parts for name, table in part.items()}
    return {name: merged[name] for name in names}


def _sqlite_in_child(path: str, sql: Mapping[str, str]) -> dict[str, pa.Table]:
    """Run the queries with ADBC in a child process; tables come back as Arrow IPC."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "phiwarden.store.sqlite_child", path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(list(sql.values())).encode())
    proc.stdin.close()
    out: dict[str, pa.Table] = {}
    # A child that died mid-stream leaves ``out`` short; its stderr below says why.
    with contextlib.suppress(EOFError, pa.ArrowInvalid):
        for name in sql:
            out[name] = _read_one(proc.stdout)
    error = proc.stderr.read().decode(errors="replace").strip()
    if proc.wait() != 0 or len(out) != len(sql):
        raise RuntimeError(f"reading the SQLite store {path} failed: {error or 'no output'}")
    return out


def _read_one(stream: IO[bytes]) -> pa.Table:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    return pa.ipc.open_stream(pa.py_buffer(stream.read(size))).read_all()
