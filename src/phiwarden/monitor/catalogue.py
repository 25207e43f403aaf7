"""The catalogue of access-monitoring detectors, in the order their reasons are listed.

Adding a detector: write ``detectors/<code>.py`` with a ``DETECTOR`` and add it here.
``docs/monitoring.md`` describes each and how to tune it.
"""

from __future__ import annotations

from phiwarden.monitor.detectors import (
    after_hours,
    break_glass,
    consecutive_mrns,
    coworker,
    deceased,
    failed_access,
    focus,
    long_after_encounter,
    low_and_slow,
    neighbour,
    relative,
    same_address,
    same_last_name,
    same_phone,
    self_access,
    spread,
    terminated,
    unknown_account,
    vip,
    volume,
)
from phiwarden.monitor.signals import Detector

DETECTORS: tuple[Detector, ...] = tuple(
    m.DETECTOR
    for m in (
        self_access,
        relative,
        same_address,
        same_phone,
        same_last_name,
        neighbour,
        coworker,
        vip,
        deceased,
        terminated,
        unknown_account,
        failed_access,
        break_glass,
        after_hours,
        volume,
        consecutive_mrns,
        long_after_encounter,
        low_and_slow,
        focus,
        spread,
    )
)
BY_CODE: dict[str, Detector] = {d.code: d for d in DETECTORS}
