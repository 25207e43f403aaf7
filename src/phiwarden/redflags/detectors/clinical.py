"""HC-CLINICAL: records inconsistent with the patient's physical history.

An ABO/Rh result that contradicts the blood type on file or an earlier result is flagged
on the registration of the encounter it was drawn in; registrations of one patient that
disagree on sex are flagged on the later one. Height and race are not in the canonical
records, so they cannot be compared here.
"""

from __future__ import annotations

from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding


def blood_type(data: ScanData) -> list[Finding]:
    """An ABO/Rh result that differs from the blood type on file or an earlier result."""
    rows = data.rows(
        """
        WITH abo AS (
          SELECT l.result_id, l.patient_id, l.value, l.resulted_at, o.encounter_id,
                 lag(l.value) OVER (PARTITION BY l.patient_id ORDER BY l.resulted_at) AS before
          FROM lab_results l LEFT JOIN orders o USING (order_id)
          WHERE l.test = 'ABO/Rh' AND l.value IS NOT NULL
        )
        SELECT a.*, p.blood_type, p.mrn, r.registration_id
        FROM abo a JOIN patients p USING (patient_id)
        LEFT JOIN registrations r ON r.encounter_id = a.encounter_id
        WHERE (p.blood_type IS NOT NULL AND a.value <> p.blood_type)
           OR (a.before IS NOT NULL AND a.value <> a.before)
        """
    )
    out: list[Finding] = []
    for r in rows:
        against = r["blood_type"] if r["blood_type"] and r["blood_type"] != r["value"] else None
        what = f"on file {against}" if against else f"an earlier result {r['before']}"
        out.append(
            Finding.of(
                "HC-CLINICAL",
                "blood_type",
                (f"ABO/Rh result {r['value']} ({r['result_id']}) contradicts {what}",),
                row=r,
                at="resulted_at",
            )
        )
    return out


def sex_across_registrations(data: ScanData) -> list[Finding]:
    """A registration presenting a different sex from the patient's earlier registration."""
    rows = data.rows(
        """
        WITH s AS (
          SELECT registration_id, patient_id, mrn, registered_at, presented_sex,
                 lag(presented_sex) OVER (PARTITION BY patient_id ORDER BY registered_at) AS before
          FROM registrations WHERE presented_sex IS NOT NULL
        )
        SELECT * FROM s WHERE before IS NOT NULL AND before <> presented_sex
        """
    )
    return [
        Finding.of(
            "HC-CLINICAL",
            "sex_across_registrations",
            (f"sex presented {r['presented_sex']}; an earlier registration said {r['before']}",),
            row=r,
        )
        for r in rows
    ]
