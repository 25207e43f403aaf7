"""HC-COMPLAINT: a complaint about a bill, EOB, collection notice or credit report for
care the person says they never received.

Billing disputes (an amount, a copay, a settled balance) are not identity theft; the
complaint is a red flag when its text says the care was not received or the visit was
someone else's. The flag names the registration of the visit complained about: the one
on the complaint's date of service when the text gives one, else the last one charged to
the account before the complaint arrived.
"""

from __future__ import annotations

import re

from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding

NOT_RECEIVED = re.compile(
    r"never (been )?(treated|seen|received|visited|patroni[sz]ed|there|went)"
    r"|not (treated|seen|received)|did not (receive|visit|go)|didn't (receive|visit|go)"
    r"|someone else|another (person|individual|patient)|not (me|mine)|identity theft"
    r"|for care (not|never) received|services? (not|never) (received|rendered)",
    re.IGNORECASE,
)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def care_not_received(data: ScanData) -> list[Finding]:
    """Complaints whose text says the care was not received."""
    rows = data.rows(
        """
        SELECT c.complaint_id, c.patient_id, c.account_id, c.kind, c.received_at,
               c.description, p.mrn
        FROM complaints c LEFT JOIN patients p USING (patient_id)
        """
    )
    out: list[Finding] = []
    for r in rows:
        text = r["description"] or ""
        if not NOT_RECEIVED.search(text):
            continue
        day = _DATE.search(text)
        found = data.rows(
            """
            SELECT r.registration_id FROM transactions t
            JOIN encounters e USING (encounter_id)
            LEFT JOIN registrations r ON r.encounter_id = t.encounter_id
            WHERE t.account_id = ? AND t.posted_at <= ?
              AND (? IS NULL OR CAST(e.start AS DATE) = CAST(? AS DATE))
            ORDER BY t.posted_at DESC LIMIT 1
            """,
            [r["account_id"], r["received_at"], day and day.group(1), day and day.group(1)],
        )
        out.append(
            Finding(
                "HC-COMPLAINT",
                "care_not_received",
                (f"{r['kind'].replace('_', ' ')} complaint {r['complaint_id']}: {text}",),
                patient_id=r["patient_id"],
                mrn=r["mrn"],
                registration_id=found[0]["registration_id"] if found else None,
                account_id=r["account_id"],
                occurred_at=r["received_at"],
            )
        )
    return out
