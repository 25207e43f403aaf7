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

from sqlalchemy import bindparam, select, update

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
    """Insert new flags and refresh the evidence of open ones; the number inserted.

    Code, detector and subject make the flag id, so only the evidence, severity and date
    can differ on a re-scan: they are updated in one batched statement.
    """
    now = datetime.now().replace(microsecond=0)
    c = red_flags.c
    refresh = (
        update(red_flags)
        .where(c.flag_id == bindparam("b_id"))
        .values(
            severity=bindparam("b_severity"),
            evidence=bindparam("b_evidence", type_=c.evidence.type),
            occurred_at=bindparam("b_at", type_=c.occurred_at.type),
        )
    )
    with stores.engine.begin() as conn:
        existing = dict(conn.execute(select(c.flag_id, c.status)).tuples().all())
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for f in findings:
            status = existing.get(f.flag_id)
            if status is None:
                fresh.append(
                    {
                        "flag_id": f.flag_id,
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
                        "detected_at": now,
                        "status": "open",
                    }
                )
            elif status == "open":
                changed.append(
                    {
                        "b_id": f.flag_id,
                        "b_severity": f.severity,
                        "b_evidence": list(f.evidence),
                        "b_at": f.occurred_at,
                    }
                )
        if fresh:
            conn.execute(red_flags.insert(), fresh)
        if changed:
            conn.execute(refresh, changed)
    return len(fresh)
