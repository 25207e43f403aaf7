"""FTC-10, 11, 12, 13, 16 on every registration: the checks real-time screening also runs."""

from __future__ import annotations

from datetime import date

from phiwarden.redflags.checks import registration_hits
from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding


def registration_checks(data: ScanData) -> list[Finding]:
    """SSN rules, watch list, address/phone type and missing information per registration.

    A patient is new at a registration unless an account or a registration of theirs is
    older than a day: the SSN-issue-date check applies to new patients only.
    """
    out: list[Finding] = []
    rows = data.rows(
        """
        SELECT r.*, f.seen_at < r.registered_at - INTERVAL 1 DAY AS established
        FROM registrations r LEFT JOIN first_seen f USING (patient_id)
        """
    )
    for reg in rows:
        dob = reg.get("presented_dob")
        reg["presented_dob"] = dob if isinstance(dob, date) or dob is None else None
        for code, detector, evidence in registration_hits(
            reg,
            data.watch,
            data.ssn_of.get(reg["registration_id"]),
            new_patient=not reg["established"],
        ):
            out.append(
                Finding.of(
                    code,
                    detector,
                    evidence,
                    row=reg,
                )
            )
    return out


def deceased(data: ScanData) -> list[Finding]:
    """FTC-10: a registration after the date of death recorded for the patient."""
    rows = data.rows(
        """
        SELECT r.registration_id, r.patient_id, r.mrn, r.registered_at, p.deceased_date
        FROM registrations r JOIN patients p USING (patient_id)
        WHERE p.deceased_date IS NOT NULL AND CAST(r.registered_at AS DATE) > p.deceased_date
        """
    )
    return [
        Finding.of(
            "FTC-10",
            "deceased",
            (f"registered {r['registered_at']:%Y-%m-%d}; the patient died {r['deceased_date']}",),
            row=r,
        )
        for r in rows
    ]
