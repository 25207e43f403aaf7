"""How surprising a count is by chance: the Poisson tail, shared by scoring and detectors."""

from __future__ import annotations

import math

#: -log10 of the chance probability at which a common attribute counts in full: p <= 0.01.
#: Measured (bench_monitor at 3M and 10M): 3.0 (p <= 0.001) missed the VIP snoopers with
#: a single victim (recall 38/40 at 10M); 2.0 catches all 40 and adds no false alert.
FULL_SURPRISE = 2.0


def surprise(k: int, expected: float) -> float:
    """-log10 of the Poisson probability of at least ``k`` hits when ``expected`` are due."""
    if k <= 0:
        return 0.0
    if expected <= 0:
        return FULL_SURPRISE
    term = math.exp(-expected)
    below = 0.0
    for i in range(k):
        below += term
        term *= expected / (i + 1)
    tail = max(1.0 - below, 1e-300)
    return -math.log10(tail)
