"""The phished-mailbox incident (seed 004): a staff mailbox full of patients' data.

An attacker phished one billing or registration employee and read the mailbox for about
a month before the hospital noticed. ``write_mailbox`` writes that mailbox as a standard
mbox with ordinary internal mail, the phishing lure, and messages whose bodies or
attachments (XLSX billing worklists, CSV schedule exports, PDF rosters and referral
letters, DOCX discharge summaries and intake forms) hold real patients' data from the
canonical tables. It returns the ground truth a breach scan must reproduce: each exposed
patient once, with every kind of data exposed about them anywhere in the mailbox.

Everything is a function of the inputs and the seed, bytes included: message dates come
from the data window, Message-IDs and MIME boundaries are fixed, and the attachment
builders are deterministic (see ``mailbox_documents``).
"""

from __future__ import annotations

import mailbox
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np

from phiwarden.domain import canonical as c
from phiwarden.synth import mailbox_documents as docs
from phiwarden.synth.export_io import Row, load_rows
from phiwarden.synth.mailbox_documents import PatientPHI
from phiwarden.synth.mailbox_messages import CHATTER, Mail, cast, render

ELEMENTS: tuple[str, ...] = (
    "name",
    "dob",
    "ssn",
    "mrn",
    "address",
    "phone",
    "insurance",
    "drivers_license",
    "diagnosis",
)
#: The synthetic health system's clock offset used in message dates (US Central, standard).
TZ = timezone(timedelta(hours=-6))
_ROWS_PER_BULK = 150


@dataclass
class _Exposure:
    """Collects which elements of which patient the mailbox shows."""

    by_mrn: dict[str, set[str]] = field(default_factory=dict)

    def show(self, phi: PatientPHI, elements: Sequence[str]) -> dict[str, str]:
        """Record and return the present values of ``elements`` for one patient."""
        shown = {e: v for e in elements if (v := phi.value(e)) is not None}
        self.by_mrn.setdefault(phi.mrn, set()).update(shown)
        return shown


def _address(row: Row) -> str | None:
    if not row.get("address_line"):
        return None
    tail = " ".join(p for p in (row.get("state"), row.get("zip")) if p)
    return ", ".join(p for p in (row["address_line"], row.get("city"), tail) if p)


def _phi(row: Row, cov: Row | None, seed: int) -> PatientPHI:
    return PatientPHI(
        patient_id=row["patient_id"],
        mrn=row["mrn"],
        first_name=row.get("first_name") or "",
        last_name=row["last_name"],
        dob=row["dob"],
        ssn=row.get("ssn"),
        address=_address(row),
        phone=row.get("phone"),
        payer=cov["payer"] if cov else None,
        member_id=cov["member_id"] if cov else None,
        drivers_license=docs.drivers_license(row["patient_id"], row.get("state"), seed),
        diagnosis=docs.diagnosis(row["patient_id"], seed),
    )


class _Mailbox:
    """Plans the messages of the compromised mailbox."""

    def __init__(
        self,
        rng: np.random.Generator,
        owner: tuple[str, str],
        staff: list[tuple[str, str]],
        start: date,
        end: date,
    ) -> None:
        self.rng, self.owner, self.staff = rng, owner, staff
        self.start, self.days = start, max((end - start).days, 1)
        self.exposure = _Exposure()
        self.mails: list[Mail] = []

    def when(self) -> datetime:
        """A business-hours time on a random weekday of the window."""
        day = self.start + timedelta(days=int(self.rng.integers(0, self.days)))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        minute = int(self.rng.integers(7 * 60 + 30, 17 * 60 + 30))
        return datetime.combine(day, time(minute // 60, minute % 60), TZ)

    def colleague(self) -> tuple[str, str]:
        return self.staff[int(self.rng.integers(0, len(self.staff)))]

    def add(
        self,
        subject: str,
        body: str,
        attachments: list[tuple[str, str, str, bytes]],
        incoming: bool = True,
    ) -> None:
        other = self.colleague()
        sender, to = (other, [self.owner]) if incoming else (self.owner, [other])
        self.mails.append(Mail(sender, to, subject, self.when(), body, attachments))

    def greeting(self) -> str:
        return f"Hi {self.owner[0].split()[0]},\n\n"

    def worklist(self, phis: list[PatientPHI], stamp: datetime) -> None:
        cols = ("name", "dob", "mrn", "insurance", "ssn")
        rows: list[list[object]] = []
        for phi in phis:
            shown = self.exposure.show(phi, cols)
            rows.append(
                [
                    shown["name"],
                    phi.dob,
                    phi.mrn,
                    phi.payer or "",
                    phi.member_id or "",
                    shown.get("ssn", ""),
                    round(float(self.rng.uniform(50, 9000)), 2),
                ]
            )
        data = docs.xlsx_workbook(
            "Worklist",
            ["Patient Name", "DOB", "MRN", "Payer", "Member ID", "SSN", "Balance"],
            rows,
            stamp,
        )
        name = f"billing_worklist_{stamp:%Y%m%d}_{len(self.mails):03d}.xlsx"
        self.add(
            "Denials worklist for this week",
            self.greeting() + "Attached are the "
            "accounts to work this week. Please call the payers on the big balances "
            "first.\n\nThanks",
            [(name, "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", data)],
        )

    def schedule(self, phis: list[PatientPHI], stamp: datetime) -> None:
        rows = []
        for phi in phis:
            shown = self.exposure.show(phi, ("name", "dob", "mrn", "phone"))
            slot = datetime.combine(stamp.date(), time(8), TZ) + timedelta(
                days=int(self.rng.integers(1, 15)), minutes=15 * int(self.rng.integers(0, 36))
            )
            rows.append(
                [
                    f"{slot:%m/%d/%Y %H:%M}",
                    shown["name"],
                    shown["dob"],
                    phi.mrn,
                    shown.get("phone", ""),
                ]
            )
        data = docs.csv_bytes(["Appointment", "Patient", "DOB", "MRN", "Phone"], rows)
        self.add(
            "Schedule export for pre-registration",
            self.greeting() + "Here is the "
            "export of next weeks' appointments so you can verify insurance before "
            "they come in.",
            [(f"schedule_export_{len(self.mails):03d}.csv", "text", "csv", data)],
        )

    def roster(self, phis: list[PatientPHI], stamp: datetime) -> None:
        rows = []
        for phi in phis:
            s = self.exposure.show(phi, ("name", "mrn", "dob", "address", "diagnosis"))
            rows.append([s["name"], phi.mrn, s["dob"], s.get("address", ""), s["diagnosis"]])
        data = docs.pdf_table(
            "Care Management Roster",
            f"Prepared {stamp:%m/%d/%Y}",
            ["Patient", "MRN", "DOB", "Address", "Diagnosis"],
            rows,
        )
        self.add(
            "Care management roster",
            self.greeting() + "Attached is the current "
            "roster. Please make sure the accounts are flagged for the program.",
            [(f"care_roster_{len(self.mails):03d}.pdf", "application", "pdf", data)],
        )

    def referral(self, phi: PatientPHI) -> None:
        cols = ("name", "dob", "mrn", "address", "phone", "insurance", "diagnosis")
        s = self.exposure.show(phi, cols)
        labels = {
            "address": "Address",
            "phone": "Phone",
            "insurance": "Insurance",
            "diagnosis": "Diagnosis",
        }
        paras = [f"Re: {s['name']}, DOB {s['dob']}, MRN {phi.mrn}"]
        paras += [f"{labels[k]}: {s[k]}" for k in labels if k in s]
        paras.append(
            "We are referring this patient for specialist evaluation. Please "
            "contact our office to schedule. Prior authorisation is attached."
        )
        data = docs.pdf_letter("Referral for Specialist Evaluation", paras)
        self.add(
            f"Referral - {phi.last_name}",
            self.greeting() + "Can you get the auth started for this referral?",
            [(f"referral_{phi.mrn}.pdf", "application", "pdf", data)],
        )

    def discharge(self, phi: PatientPHI, stamp: datetime) -> None:
        s = self.exposure.show(phi, ("name", "dob", "mrn", "address", "diagnosis"))
        fields = [("Patient", s["name"]), ("Date of birth", s["dob"]), ("MRN", phi.mrn)]
        if "address" in s:
            fields.append(("Address", s["address"]))
        fields.append(("Discharge diagnosis", s["diagnosis"]))
        data = docs.docx_document(
            "Discharge Summary",
            [
                "Hospital course: admitted for evaluation and management; stable at discharge.",
                "Follow up with primary care within 7 days.",
            ],
            fields,
            stamp.replace(tzinfo=None),
        )
        self.add(
            "Discharge summary for billing",
            self.greeting() + "Discharge summary attached for the claim.",
            [
                (
                    f"discharge_summary_{phi.mrn}.docx",
                    "application",
                    "vnd.openxmlformats-officedocument.wordprocessingml.document",
                    data,
                )
            ],
        )

    def intake(self, phi: PatientPHI, stamp: datetime) -> None:
        cols = ("name", "dob", "ssn", "address", "phone", "insurance", "drivers_license")
        s = self.exposure.show(phi, cols)
        labels = {
            "name": "Name",
            "dob": "Date of birth",
            "ssn": "SSN",
            "address": "Address",
            "phone": "Phone",
            "insurance": "Insurance",
            "drivers_license": "Driver's license",
        }
        fields = [(labels[k], s[k]) for k in cols if k in s]
        data = docs.docx_document(
            "Patient Intake Form",
            ["I certify the information above is correct."],
            fields,
            stamp.replace(tzinfo=None),
        )
        self.add(
            "Scanned intake form",
            self.greeting() + "Intake form from the front desk, please update the registration.",
            [
                (
                    f"intake_{phi.last_name}.docx",
                    "application",
                    "vnd.openxmlformats-officedocument.wordprocessingml.document",
                    data,
                )
            ],
        )

    def body_message(self, phis: list[PatientPHI]) -> None:
        extras = ("ssn", "drivers_license", "phone", "insurance")
        lines = []
        for phi in phis:
            extra = extras[int(self.rng.integers(0, len(extras)))]
            s = self.exposure.show(phi, ("name", "dob", "mrn", extra))
            line = f"- {s['name']}, DOB {s['dob']}, MRN {phi.mrn}"
            line += (
                {
                    "ssn": "; SSN on file {v}",
                    "drivers_license": "; showed driver's license {v} at check-in",
                    "phone": "; call back at {v}",
                    "insurance": "; coverage {v}",
                }[extra].format(v=s[extra])
                if extra in s
                else ""
            )
            lines.append(line)
        self.add(
            "Accounts to check",
            self.greeting() + "Could you look at these accounts "
            "before month end? The payer is asking for corrections.\n\n"
            + "\n".join(lines)
            + "\n\nThanks!",
            [],
            incoming=bool(self.rng.integers(0, 2)),
        )

    def chatter(self, count: int) -> None:
        order = self.rng.permutation(len(CHATTER))
        for k in range(count):
            subject, body = CHATTER[int(order[k % len(order)])]
            self.add(subject, self.greeting() + body, [], incoming=bool(self.rng.random() < 0.8))


def _window(canonical_dir: Path) -> date:
    """The last day of the data window (latest encounter or registration)."""
    days = [r["start"].date() for r in load_rows(canonical_dir, c.ENCOUNTERS) if r.get("start")]
    days += [
        r["registered_at"].date()
        for r in load_rows(canonical_dir, c.REGISTRATIONS)
        if r.get("registered_at")
    ]
    return max(days) if days else date(2024, 6, 30)


def write_mailbox(canonical_dir: Path, out_dir: Path, seed: int) -> list[dict[str, object]]:
    """Write ``compromised.mbox``, the same messages as ``compromised-eml/*.eml``, and
    ``README.txt``; return the exposed patients.

    The result has one ``{"mrn", "elements"}`` entry per exposed patient, sorted by MRN,
    ``elements`` the sorted union of what the mailbox shows about them (from ELEMENTS).
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    patients = load_rows(canonical_dir, c.PATIENTS)
    first_cov: dict[str, Row] = {}
    for cov in load_rows(canonical_dir, c.COVERAGES):
        first_cov.setdefault(cov["patient_id"], cov)
    facilities = load_rows(canonical_dir, c.FACILITIES)
    org = facilities[0]["name"] if facilities else "Synthetic Health"
    domain = (re.sub(r"[^a-z0-9]+", "-", org.lower()).strip("-") or "hospital") + ".example.org"
    owner_row, owner, staff = cast(rng, load_rows(canonical_dir, c.WORKFORCE), domain)
    end = _window(canonical_dir)
    compromised = end - timedelta(days=45)
    discovered = compromised + timedelta(days=33)

    n = len(patients)
    n_exposed = min(n, max(20, min(2000, round(n * float(rng.uniform(0.05, 0.10))))))
    chosen = rng.choice(n, size=n_exposed, replace=False) if n_exposed else np.array([], int)
    phis = [
        _phi(patients[int(i)], first_cov.get(patients[int(i)]["patient_id"]), seed) for i in chosen
    ]
    box = _Mailbox(
        rng, owner, staff, compromised - timedelta(days=120), discovered - timedelta(days=1)
    )
    singles = max(1, min(8, n_exposed // 25)) if n_exposed else 0
    n_body = max(2, min(10, n_exposed // 20)) if n_exposed else 0
    cursor = 0

    def take(k: int) -> list[PatientPHI]:
        nonlocal cursor
        part, cursor = phis[cursor : cursor + k], cursor + k
        return part

    for kind in ("referral", "discharge", "intake"):
        for phi in take(singles):
            stamp = box.when()
            if kind == "referral":
                box.referral(phi)
            elif kind == "discharge":
                box.discharge(phi, stamp)
            else:
                box.intake(phi, stamp)
    for _ in range(n_body):
        group = take(int(rng.integers(1, 4)))
        if group:
            box.body_message(group)
    rest = phis[cursor:]
    if cursor:
        again = rng.choice(cursor, size=cursor // 3, replace=False)
        rest += [phis[int(i)] for i in sorted(again)]
    n_bulk = max(min(3, len(rest)), math.ceil(len(rest) / _ROWS_PER_BULK))
    for k, chunk in enumerate(np.array_split(np.arange(len(rest)), n_bulk) if rest else []):
        group, stamp = [rest[int(i)] for i in chunk], box.when()
        (box.worklist, box.schedule, box.roster)[k % 3](group, stamp)
    target = min(150, max(30, int(30 + 12 * math.log2(max(n, 1) / 1000)) if n > 1000 else 30))
    box.chatter(max(8, target - len(box.mails) - 1))
    lure_at = datetime.combine(compromised, time(9, 12), TZ)
    box.mails.append(
        Mail(
            ("IT Service Desk", "helpdesk@mail-quota-verify.example.net"),
            [owner],
            "Action required: your mailbox is over its storage limit",
            lure_at,
            "Your mailbox has exceeded its storage limit. Sign in within "
            "24 hours at the link below to keep receiving mail:\n\n"
            "https://mail-quota-verify.example.net/owa/login\n\nIT Service Desk",
        )
    )

    path = out_dir / "compromised.mbox"
    path.unlink(missing_ok=True)
    mbox = mailbox.mbox(path, create=True)
    eml = out_dir / "compromised-eml"
    eml.mkdir(exist_ok=True)
    for old in eml.glob("*.eml"):
        old.unlink()
    ordered = sorted(box.mails, key=lambda m: (m.when, m.subject))
    for number, mail in enumerate(ordered, start=1):
        message = render(mail, number, seed, domain)
        mbox.add(message)
        (eml / f"{number:05d}.eml").write_bytes(message.as_bytes(unixfrom=False))
    mbox.flush()
    mbox.close()
    (out_dir / "README.txt").write_text(
        f"""Synthetic phished-mailbox incident (phiwarden; all people and data are invented).

Mailbox owner: {owner[0]} <{owner[1]}>, user id {owner_row["user_id"]}, role {owner_row["role"]}.
Organisation: {org}
Phishing e-mail received and first unauthorised sign-in: {compromised.isoformat()}
Unauthorised access detected and stopped (discovery date): {discovered.isoformat()}
The attacker could read every message in the mailbox: {len(ordered)} messages,
{sum(len(m.attachments) for m in ordered)} attachments (XLSX, CSV, PDF, DOCX).
Patients whose information appears in the mailbox: {len(box.exposure.by_mrn)}.
Generated with seed {seed}. Files: compromised.mbox (standard mbox), and the same
messages one per file in compromised-eml/ (.eml, RFC 5322).
""",
        encoding="utf-8",
    )
    return [
        {"mrn": mrn, "elements": sorted(els)} for mrn, els in sorted(box.exposure.by_mrn.items())
    ]
