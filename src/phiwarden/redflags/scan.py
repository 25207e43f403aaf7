"""``phiwarden redflags scan``: every detector over registrations and accounts, stored.

Flags are upserted by their stable id: a re-scan refreshes evidence and severity of open
flags and leaves resolved or dismissed ones as the analyst left them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from phiwarden.redflags import data as scan_data
from phiwarden.redflags.catalogue import SEVERITY_RANK
from phiwarden.redflags.catalogue_detectors import DETECTORS
from phiwarden.redflags.finding import Finding
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores

Progress = Callable[[str, int, int], None]


@dataclass
class ScanResult:
    """The flags of one scan, how many were new, and how long each detector took."""

    findings: list[Finding]
    new: int
    seconds: dict[str, float] = field(default_factory=dict)

    def by_code(self) -> Counter[str]:
        """Flag counts per catalogue code."""
        return Counter(f.code for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        """The ``redflags scan --json`` document."""
        return {"flags": [f.as_json() for f in self.findings]}


def _order(f: Finding) -> tuple[int, str, str]:
    return (
        -SEVERITY_RANK[f.severity],
        f.code,
        f.registration_id or f.account_id or f.user_id or "",
    )


def run_scan(stores: Stores, progress: Progress | None = None) -> ScanResult:
    """Run every detector and store the flags."""
    tick = progress or (lambda _s, _d, _t: None)
    tick("loading", 0, len(DETECTORS))
    data = scan_data.load(stores)
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    try:
        for i, (_codes, fn) in enumerate(DETECTORS):
            t = time.perf_counter()
            findings.extend(fn(data))
            seconds[fn.__name__] = time.perf_counter() - t
            tick("detecting", i + 1, len(DETECTORS))
    finally:
        data.con.close()
    unique = {f.flag_id: f for f in findings}
    ordered = sorted(unique.values(), key=_order)
    new = store_findings(stores, ordered)
    return ScanResult(findings=ordered, new=new, seconds=seconds)


def store_findings(stores: Stores, findings: list[Finding]) -> int:
    """Insert new flags and refresh open ones; the number inserted."""
    now = datetime.now().replace(microsecond=0)
    with stores.engine.begin() as conn:
        existing = {
            fid: status
            for fid, status in conn.execute(select(red_flags.c.flag_id, red_flags.c.status))
        }
        fresh = []
        for f in findings:
            row = {
                "code": f.code,
                "detector": f.detector,
                "severity": f.severity,
                "patient_id": f.patient_id,
                "mrn": f.mrn,
                "registration_id": f.registration_id,
                "account_id": f.account_id,
                "user_id": f.user_id,
                "evidence": list(f.evidence),
                "occurred_at": f.occurred_at,
            }
            if f.flag_id not in existing:
                fresh.append({**row, "flag_id": f.flag_id, "detected_at": now, "status": "open"})
            elif existing[f.flag_id] == "open":
                conn.execute(update(red_flags).where(red_flags.c.flag_id == f.flag_id).values(row))
        if fresh:
            conn.execute(red_flags.insert(), fresh)
    return len(fresh)
