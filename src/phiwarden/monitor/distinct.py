"""Distinct values and each row's position among them, for per-user grids.

``np.unique(..., return_inverse=True)`` over user ids sorts Python strings: 0.14 s for
the 284k user-days of a 10M-access window. Arrow hashes them instead (0.01 s) and only
the distinct values are sorted; the result is the same.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def sorted_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values sorted, as objects; each row's index into them): ``np.unique``'s
    ``return_inverse`` for a string column."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    distinct = encoded.dictionary.take(pa.array(order))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return np.asarray(distinct.to_numpy(zero_copy_only=False), dtype=object), rank[indices]
