"""FTC-22 a dormant account suddenly used; FTC-23 mail returned while transactions continue.

An account flag names the registration of the account's first encounter: the visit that
opened it, where verification belongs.
"""

from __future__ import annotations

from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding

#: Days without any transaction after which a new charge counts as sudden use.
DORMANT_DAYS = 730

_OPENING = """
  opening AS (
    SELECT DISTINCT ON (t.account_id) t.account_id, r.registration_id
    FROM transactions t JOIN encounters e USING (encounter_id)
    LEFT JOIN registrations r ON r.encounter_id = t.encounter_id
    ORDER BY t.account_id, e.start
  )
"""


def returned_mail(data: ScanData) -> list[Finding]:
    """Mail returned at least twice and transactions posted after the last return."""
    rows = data.rows(
        f"""
        WITH {_OPENING},
        after AS (
          SELECT a.account_id, count(*) AS n, max(t.posted_at) AS last_at
          FROM billing_accounts a JOIN transactions t USING (account_id)
          WHERE a.returned_mail_count >= 2 AND t.posted_at > a.last_returned_mail_at
          GROUP BY 1
        )
        SELECT a.account_id, a.patient_id, p.mrn, a.returned_mail_count,
               a.last_returned_mail_at, after.n, after.last_at, o.registration_id
        FROM billing_accounts a JOIN after USING (account_id)
        JOIN patients p USING (patient_id)
        LEFT JOIN opening o USING (account_id)
        """
    )
    return [
        Finding.of(
            "FTC-23",
            "returned_mail",
            (
                f"mail returned undeliverable {r['returned_mail_count']} times, last on "
                f"{r['last_returned_mail_at']:%Y-%m-%d}; {r['n']} transaction(s) posted since",
            ),
            row=r,
            at="last_at",
        )
        for r in rows
    ]


def dormant(data: ScanData, days: int = DORMANT_DAYS) -> list[Finding]:
    """A charge after ``days`` or more without any transaction on the account."""
    rows = data.rows(
        """
        WITH t AS (
          SELECT account_id, encounter_id, posted_at, kind,
                 lag(posted_at) OVER (PARTITION BY account_id ORDER BY posted_at) AS before
          FROM transactions
        )
        SELECT t.account_id, t.posted_at, t.before, a.patient_id, p.mrn, r.registration_id
        FROM t JOIN billing_accounts a USING (account_id) JOIN patients p USING (patient_id)
        LEFT JOIN registrations r ON r.encounter_id = t.encounter_id
        WHERE t.kind = 'charge' AND t.before IS NOT NULL
          AND date_diff('day', t.before, t.posted_at) >= ?
        """,
        [days],
    )
    return [
        Finding.of(
            "FTC-22",
            "dormant_account",
            (
                f"charge on {r['posted_at']:%Y-%m-%d} after no activity since "
                f"{r['before']:%Y-%m-%d}",
            ),
            row=r,
            at="posted_at",
        )
        for r in rows
    ]
