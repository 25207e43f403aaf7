"""Read and write canonical tables as CSV with their Arrow schemas.

CSV is the canonical interchange a person can open; empty cells are nulls. Parquet
files are read as they are and cast to the schema.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from phiwarden.domain.canonical import CanonicalTable


def read_csv(path: Path, table: CanonicalTable) -> pa.Table:
    """Read one canonical CSV strictly typed by the table's schema (raises on bad cells)."""
    convert = pacsv.ConvertOptions(
        column_types={f.name: f.type for f in table.schema},
        strings_can_be_null=True,
        null_values=[""],
        true_values=["true", "True", "1"],
        false_values=["false", "False", "0"],
        timestamp_parsers=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", pacsv.ISO8601],
    )
    return pacsv.read_csv(path, convert_options=convert)


def write_csv(data: pa.Table, path: Path, table: CanonicalTable) -> None:
    """Write rows in the canonical column order; timestamps as ISO ``YYYY-MM-DDTHH:MM:SS``."""
    data = data.select(table.schema.names).cast(table.schema)
    cols = []
    for field in table.schema:
        col = data.column(field.name)
        if pa.types.is_timestamp(field.type):
            seconds = col.cast(pa.timestamp("s"), safe=False)
            col = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S")
        cols.append(col)
    out = pa.table(cols, names=table.schema.names)
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(out, path, pacsv.WriteOptions(quoting_style="needed"))


def read_parquet(path: Path, table: CanonicalTable) -> pa.Table:
    """Read a canonical Parquet file (or folder) and cast it to the table's schema."""
    data = pq.read_table(path)
    missing = [n for n in table.schema.names if n not in data.column_names]
    for name in missing:
        data = data.append_column(name, pa.nulls(len(data), table.schema.field(name).type))
    return data.select(table.schema.names).cast(table.schema)
