"""HC-INSURANCE: the insurance identity from the payer's X12 271 does not match the patient.

Two facts point at someone using another person's insurance: the member id presented is
on file as another patient's coverage, or the identity the payer holds for the member
(name, date of birth) disagrees with what was presented. The payer's "subscriber not
found" (AAA 75) and "identifying data changed" (INS*Y) answers are common on their own
(typos in member ids), so they are added as evidence, not raised alone.
"""

from __future__ import annotations

from phiwarden.identity.names import clean_name
from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding


def insurance_identity(data: ScanData) -> list[Finding]:
    """Registrations whose member id belongs to another patient or whose 271 disagrees."""
    rows = data.rows(
        """
        SELECT r.registration_id, r.patient_id, r.mrn, r.registered_at,
               r.presented_first_name, r.presented_last_name, r.presented_dob,
               r.presented_member_id, p.previous_names,
               e.first_name AS payer_first, e.last_name AS payer_last, e.dob AS payer_dob,
               e.aaa_code, e.ins_changed,
               (SELECT min(o.mrn) FROM coverages c JOIN patients o USING (patient_id)
                 WHERE c.member_id = r.presented_member_id
                   AND c.patient_id <> r.patient_id) AS other_mrn,
               EXISTS (SELECT 1 FROM coverages c WHERE c.member_id = r.presented_member_id
                         AND c.patient_id = r.patient_id) AS own
        FROM registrations r
        JOIN patients p USING (patient_id)
        LEFT JOIN eligibility_responses e USING (registration_id)
        WHERE r.presented_member_id IS NOT NULL
        """
    )
    out: list[Finding] = []
    for r in rows:
        evidence: list[str] = []
        if r["other_mrn"] and not r["own"]:
            evidence.append(f"member id is on file as the coverage of MRN {r['other_mrn']}")
        known = {clean_name(r["presented_last_name"] or "")} | {
            clean_name(n.split(",")[0]) for n in (r["previous_names"] or "").split(";") if n
        }
        if r["payer_last"] and clean_name(r["payer_last"]) not in known:
            evidence.append("the payer's last name for the member differs from the one presented")
        if r["payer_dob"] and r["presented_dob"] and r["payer_dob"] != r["presented_dob"]:
            evidence.append(
                "the payer's date of birth for the member differs from the one presented"
            )
        if not evidence:
            continue
        if r["aaa_code"] == "75":
            evidence.append("payer answered subscriber not found (AAA 75)")
        if r["ins_changed"]:
            evidence.append("payer changed identifying data from the request (INS*Y)")
        out.append(
            Finding.of(
                "HC-INSURANCE",
                "insurance_identity",
                tuple(evidence),
                row=r,
            )
        )
    return out
