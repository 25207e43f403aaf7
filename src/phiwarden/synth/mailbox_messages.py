"""The messages of the phished mailbox (seed 004) as MIME: the ordinary office chatter
around the patients' data, who owns the mailbox and who writes to them, and one planned
message rendered as an mbox message with fixed Message-ID and MIME boundary, so the
mailbox is the same bytes for the same seed."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import numpy as np

from phiwarden.synth.export_io import Row

CHATTER: tuple[tuple[str, str], ...] = (
    (
        "Staff meeting moved to Thursday",
        "The monthly staff meeting moves to Thursday at 2pm "
        "in conference room B. Agenda to follow.",
    ),
    (
        "Parking garage level 2 closed",
        "Facilities will restripe level 2 this weekend; please use the surface lot.",
    ),
    ("Timecards due Monday", "Reminder: approve your timecards by noon Monday."),
    (
        "Lunch order for Friday",
        "We are ordering from the deli for the team lunch. Reply with your sandwich by Wednesday.",
    ),
    (
        "Scheduled EHR downtime",
        "The EHR will be unavailable Sunday 01:00-03:00 for "
        "upgrades. Use the downtime procedures binder.",
    ),
    ("Open enrollment reminder", "Benefits open enrollment closes at the end of the month."),
    (
        "Holiday coverage schedule",
        "Please add your name to the holiday coverage sheet on the shared drive.",
    ),
    ("Fire drill tomorrow", "Facilities will run a fire drill tomorrow at 10:30."),
    ("Badge renewal", "Badges expiring this quarter can be renewed at security, weekdays 8-4."),
    (
        "Coding update webinar",
        "The payer policy and coding update webinar recording is now on the intranet.",
    ),
    ("Printer on 3rd floor", "The 3rd floor printer is fixed. Thanks for your patience."),
    ("Welcome our new team member", "Please welcome our new colleague who starts Monday."),
    (
        "Denial trends - monthly",
        "Denials for missing authorisations are up this month; "
        "please double-check auth numbers before submitting.",
    ),
    ("Compliance training due", "Annual privacy and security training is due by the 15th."),
    ("Potluck sign-up", "Sign-up sheet for the department potluck is in the break room."),
)


@dataclass
class Mail:
    """One message before it is rendered to MIME."""

    sender: tuple[str, str]
    to: list[tuple[str, str]]
    subject: str
    when: datetime
    body: str
    attachments: list[tuple[str, str, str, bytes]] = field(default_factory=list)


def render(mail: Mail, number: int, seed: int, domain: str) -> mailbox.mboxMessage:
    msg = EmailMessage()
    msg["From"] = formataddr(mail.sender)
    msg["To"] = ", ".join(formataddr(t) for t in mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.when)
    msg["Message-ID"] = f"<{seed}.{number:05d}@{domain}>"
    msg.set_content(mail.body)
    for filename, maintype, subtype, data in mail.attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if mail.attachments:
        msg.set_boundary(f"==phiwarden-{seed}-{number:05d}==")
    box_msg = mailbox.mboxMessage(msg)
    box_msg.set_from(mail.sender[1], mail.when.astimezone(UTC).timetuple())
    return box_msg


def cast(
    rng: np.random.Generator, workforce: list[Row], domain: str
) -> tuple[Row, tuple[str, str], list[tuple[str, str]]]:
    """The mailbox's owner (a biller, else a registrar) and up to 12 colleagues who write
    to them, as (name, address)."""

    def addr(r: Row) -> tuple[str, str]:
        return (f"{r.get('first_name') or ''} {r['last_name']}".strip(), f"{r['login']}@{domain}")

    if not workforce:
        workforce = [
            {
                "user_id": "U0",
                "login": "jreyes",
                "first_name": "Jordan",
                "last_name": "Reyes",
                "role": "biller",
            }
        ]
    pool = (
        [r for r in workforce if r["role"] == "biller"]
        or [r for r in workforce if r["role"] == "registrar"]
        or workforce
    )
    owner = pool[int(rng.integers(0, len(pool)))]
    others = [r for r in workforce if r["user_id"] != owner["user_id"]]
    if others:
        picks = rng.choice(len(others), size=min(12, len(others)), replace=False)
        staff = [addr(others[int(i)]) for i in sorted(picks)]
    else:
        staff = [("Billing Lead", f"billing.lead@{domain}")]
    return owner, addr(owner), staff
