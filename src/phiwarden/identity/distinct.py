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
    # one record (a screening): its values are the distinct ones, and spreading them back
    # would cost more than the function itself
    one = len(values) <= 1
    distinct = values if one else pc.unique(values)
    mapped = pa.array([None if v is None else fn(v) for v in distinct.to_pylist()], type=type_)
    return mapped if one else pc.take(mapped, pc.index_in(values, value_set=distinct))
