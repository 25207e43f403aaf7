"""Detection quality against the synthetic hospital's ground truth.

Each injected identity-theft scenario is caught by one detector; per scenario, recall is
the share of its theft registrations that detector flagged, and precision the share of
that detector's flags that are theft registrations of the scenario.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from phiwarden.redflags.finding import Finding
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores

#: Scenario -> the detector meant to catch it.
SCENARIO_DETECTOR: dict[str, str] = {
    "shared_ssn": "shared_ssn",
    "ssn_never_issued": "ssn_never_issued",
    "ssn_dob_mismatch": "ssn_dob_mismatch",
    "fraud_address": "watch_address",
    "fraud_phone": "watch_phone",
    "insurance_mismatch": "insurance_identity",
    "blood_type_conflict": "blood_type",
    "returned_mail": "returned_mail",
    "complaint": "care_not_received",
}


@dataclass(frozen=True)
class ScenarioQuality:
    """Recall and precision of one scenario's detector."""

    scenario: str
    detector: str
    injected: int
    caught: int
    flags: int
    true_flags: int

    @property
    def recall(self) -> float:
        """Share of the scenario's theft registrations flagged."""
        return self.caught / self.injected if self.injected else 1.0

    @property
    def precision(self) -> float:
        """Share of the detector's flags that are the scenario's thefts."""
        return self.true_flags / self.flags if self.flags else 1.0


def stored_findings(stores: Stores) -> list[Finding]:
    """The flags in the store as findings (for quality measured after a scan)."""
    with stores.engine.connect() as conn:
        rows = conn.execute(select(red_flags)).mappings().all()
    return [
        Finding(
            r["code"],
            r["detector"],
            tuple(r["evidence"]),
            patient_id=r["patient_id"],
            mrn=r["mrn"],
            registration_id=r["registration_id"],
            account_id=r["account_id"],
            user_id=r["user_id"],
        )
        for r in rows
    ]


def quality(
    findings: Iterable[Finding], truth: Iterable[Mapping[str, Any]]
) -> list[ScenarioQuality]:
    """Per-scenario recall and precision of ``findings`` against ``identity_theft`` truth."""
    by_scenario: dict[str, set[str]] = {}
    for t in truth:
        by_scenario.setdefault(str(t["scenario"]), set()).add(str(t["registration_id"]))
    flagged: dict[str, set[str | None]] = {}
    for f in findings:
        flagged.setdefault(f.detector, set()).add(f.registration_id)
    out: list[ScenarioQuality] = []
    for scenario, detector in SCENARIO_DETECTOR.items():
        regs = by_scenario.get(scenario, set())
        hits = flagged.get(detector, set())
        out.append(
            ScenarioQuality(
                scenario=scenario,
                detector=detector,
                injected=len(regs),
                caught=len(regs & hits),
                flags=len(hits),
                true_flags=len(hits & regs),
            )
        )
    return out
