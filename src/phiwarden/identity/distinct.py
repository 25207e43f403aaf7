"""Run a Python function once per distinct value of an Arrow column.

Identity columns repeat heavily (given names, households' addresses), so the library calls
that normalise them are made once per distinct value and spread back over the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def per_distinct(
    values: pa.Array | pa.ChunkedArray, fn: Callable[[str], Any], type_: pa.DataType
) -> pa.Array:
    """``fn`` applied to each distinct non-null string of ``values``; nulls stay null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) <= 1:  # one record (a screening): the distinct values are the values
        return pa.array([None if v is None else fn(v) for v in values.to_pylist()], type=type_)
    distinct = pc.unique(values)
    mapped = pa.array([None if v is None else fn(v) for v in distinct.to_pylist()], type=type_)
    return pc.take(mapped, pc.index_in(values, value_set=distinct))
