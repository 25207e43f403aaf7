"""Robust statistics for baselines: median and MAD, not mean and standard deviation.

One snooping spree must not drag the baseline it is compared with; the median and the
median absolute deviation ignore a few extreme days.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

#: MAD x 1.4826 estimates the standard deviation of normally distributed data.
MAD_SCALE = 1.4826


def median_mad(values: Sequence[float] | npt.NDArray[np.float64]) -> tuple[float, float]:
    """Median and scaled MAD of ``values`` (0, 0 for none)."""
    if not len(values):
        return 0.0, 0.0
    a = np.asarray(values, dtype=float)
    med = float(np.median(a))
    return med, float(np.median(np.abs(a - med))) * MAD_SCALE
