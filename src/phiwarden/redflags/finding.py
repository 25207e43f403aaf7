"""A red flag found: which flag, on whom, and the evidence in words.

The id is derived from the code, the detector and the subject, so the same finding made
by a later scan has the same id and updates the stored flag instead of adding a copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phiwarden.redflags.catalogue import BY_CODE


@dataclass(frozen=True)
class Finding:
    """One red flag on a registration, an account, a patient or a workforce member."""

    code: str
    detector: str
    evidence: tuple[str, ...]
    patient_id: str | None = None
    mrn: str | None = None
    registration_id: str | None = None
    account_id: str | None = None
    user_id: str | None = None
    occurred_at: datetime | None = None

    @classmethod
    def of(
        cls,
        code: str,
        detector: str,
        evidence: tuple[str, ...],
        *,
        row: Mapping[str, Any],
        at: str = "registered_at",
    ) -> Finding:
        """A finding on the subject a detector's row names (patient, MRN, registration,
        account, user: whichever columns it has), dated by its ``at`` column."""
        return cls(
            code,
            detector,
            evidence,
            patient_id=row.get("patient_id"),
            mrn=row.get("mrn"),
            registration_id=row.get("registration_id"),
            account_id=row.get("account_id"),
            user_id=row.get("user_id"),
            occurred_at=row.get(at),
        )

    @property
    def severity(self) -> str:
        """The catalogue's severity for this flag."""
        return BY_CODE[self.code].severity.value

    @property
    def flag_id(self) -> str:
        """Stable id: the same finding on the same subject always gets the same one."""
        subject = "|".join(
            v or ""
            for v in (
                self.code,
                self.detector,
                self.registration_id,
                self.account_id,
                self.user_id,
                self.patient_id,
            )
        )
        return "RF" + hashlib.sha256(subject.encode()).hexdigest()[:22]

    def as_json(self) -> dict[str, Any]:
        """The ``redflags scan --json`` form of the flag."""
        return {
            "code": self.code,
            "mrn": self.mrn,
            "registration_id": self.registration_id,
            "severity": self.severity,
            "evidence": list(self.evidence),
            "detector": self.detector,
            "account_id": self.account_id,
            "user_id": self.user_id,
        }
