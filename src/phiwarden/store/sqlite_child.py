"""The child side of :func:`phiwarden.store.arrow_read.read_arrow_many` on SQLite.

``python -m phiwarden.store.sqlite_child DATABASE`` reads SQL texts on stdin, one JSON
string per line, and answers each with its result as a length-prefixed Arrow IPC stream
on stdout before reading the next; it ends at end of input. The parent hands each child
its next query when the last one is answered, so two children share the queries by how
long they take, not by how many there are. It imports Arrow and the ADBC driver only: a
run starts two of these, and the rest of phiwarden
(SQLAlchemy above all) and the driver's DB-API module (which imports pandas) would
triple each one's start-up.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any

import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa
import pyarrow.ipc

_LENGTH = struct.Struct("<Q")

#: rows the SQLite driver types a column from; a column NULL in all of them is typed
#: INT64, and a later text value is then an error ("Type mismatch ... expected INT64")
BATCH_ROWS = 65536


def _fetch(conn: Any, text: str) -> pa.Table:
    """One query's rows. A column that is NULL throughout the first batch (an optional
    field most records leave empty, such as an X12 AAA code) is mistyped by the driver:
    then the query is read again as one batch, typed from every row."""
    for rows in (BATCH_ROWS, 1_000_000_000):
        stmt = adbc.AdbcStatement(conn)
        try:
            stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
            stmt.set_sql_query(text)
            stream, _ = stmt.execute_query()
            try:
                return pa.RecordBatchReader._import_from_c(stream.address).read_all()
            except (OSError, pa.ArrowException) as exc:
                if "Type mismatch" not in str(exc) or rows != BATCH_ROWS:
                    raise
        finally:
            stmt.close()
    raise AssertionError("unreachable")


def main(path: str) -> None:
    """Read SQL texts (a JSON string per line) from stdin, answer each on stdout.

    The driver manager's own API, not its DB-API module: that one imports pandas.
    """
    out = sys.stdout.buffer
    with adbc_driver_sqlite.connect(f"file:{path}?mode=ro") as db, adbc.AdbcConnection(db) as conn:
        for line in sys.stdin.buffer:
            table = _fetch(conn, json.loads(line))
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            data = sink.getvalue()
            out.write(_LENGTH.pack(len(data)))
            out.write(data)
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
