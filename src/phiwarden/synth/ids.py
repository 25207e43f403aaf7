"""Identifier formats of the synthetic hospital: a letter prefix and a zero-padded number.

Position ``i`` of an entity array has number ``i + 1``; a negative position is a null
identifier (no user, no encounter...). Widths are fixed so the same hospital always
writes the same bytes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from phiwarden.synth.columns import fixed_ids


def ids(prefix: str, idx: npt.ArrayLike, width: int = 9) -> pa.Array:
    """``prefix`` + zero-padded (position + 1); negative positions give nulls."""
    values = np.asarray(idx, dtype=np.int64)
    out = fixed_ids(prefix, np.maximum(values, 0) + 1, width)
    mask = values < 0
    if mask.any():
        return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out)
    return out


def user_ids(idx: npt.ArrayLike) -> pa.Array:
    """Workforce user ids ``U00001``..."""
    return ids("U", idx, 5)


def dept_ids(idx: npt.ArrayLike) -> pa.Array:
    """Department ids ``D001``..."""
    return ids("D", idx, 3)


def facility_ids(idx: npt.ArrayLike) -> pa.Array:
    """Facility ids ``F01``..."""
    return ids("F", idx, 2)


def patient_ids(idx: npt.ArrayLike) -> pa.Array:
    """Patient ids ``P0000001``..."""
    return ids("P", idx, 7)


def encounter_ids(idx: npt.ArrayLike) -> pa.Array:
    """Encounter ids ``E000000001``..."""
    return ids("E", idx)


def registration_ids(idx: npt.ArrayLike) -> pa.Array:
    """Registration ids ``RG000000001``..."""
    return ids("RG", idx)


def account_ids(idx: npt.ArrayLike) -> pa.Array:
    """Billing account ids ``AC000000001``..."""
    return ids("AC", idx)


def coverage_ids(idx: npt.ArrayLike) -> pa.Array:
    """Coverage ids ``CV000000001``..."""
    return ids("CV", idx)


def contact_ids(idx: npt.ArrayLike) -> pa.Array:
    """Patient contact ids ``PC000000001``..."""
    return ids("PC", idx)


def order_ids(idx: npt.ArrayLike) -> pa.Array:
    """Order ids ``O000000001``..."""
    return ids("O", idx)
