"""The call centre: is this caller affected, by which incident, and what does their letter
say? Seeds 000 and 004 both published a toll-free number for exactly this.

The agent gives the caller's name, date of birth and ZIP code, or the reference code
printed on their letter. The answer names only that caller's notice: affected or not, the
incident, the kinds of information involved and whether credit monitoring is offered. A
name, birth date and ZIP that match nobody, or more than one patient, get the same answer
as a caller who is not affected, so the lookup never confirms who is a patient. The rate
limit per agent and the audit trail are the surface's (web/api/lookup.py). A returned
letter makes the address insufficient (substitute notice counts it); an address the
caller corrects queues the letter to be mailed again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from phiwarden.breach.letters import KINDS
from phiwarden.identity.addresses import zip5
from phiwarden.identity.names import clean_name
from phiwarden.store.breach_tables import breach_letters
from phiwarden.store.case_tables import case_files
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

NOT_FOUND = (
    "I can't find a notice for those details. If you received a letter, please read me the "
    "reference code printed on it."
)
REFERENCE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")


@dataclass(frozen=True)
class Answer:
    """What the agent may tell the caller."""

    affected: bool
    script: str
    incident: str | None = None
    reference: str | None = None
    credit_monitoring: bool = False

    def as_json(self) -> dict[str, Any]:
        """The answer for the API."""
        return {
            "affected": self.affected,
            "incident": self.incident,
            "reference": self.reference,
            "credit_monitoring": self.credit_monitoring,
            "script": self.script,
        }


def _script(row: dict[str, Any], title: str, toll_free: str) -> str:
    kinds = [KINDS[e][0] for e in KINDS if e in row["elements"]]
    text = (
        f"Yes: a letter about the incident '{title}' was prepared for this person "
        f"(reference {row['reference']}). The information involved: {', '.join(kinds)}."
    )
    if row["credit_code"]:
        text += " Free credit monitoring is offered; the enrolment code is on the letter."
    if row["variant"] == "next_of_kin":
        text += " The letter is addressed to the next of kin."
    elif row["variant"] == "guardian":
        text += " The letter is addressed to the parent or guardian."
    if row["status"] == "returned":
        text += " The letter came back undelivered: ask for the current mailing address."
    return text + f" For more, the caller can ring {toll_free}."


def _answer(conn: Connection, rows: list[dict[str, Any]], toll_free: str) -> Answer:
    if not rows:
        return Answer(False, NOT_FOUND)
    row = sorted(rows, key=lambda r: r["generated_at"])[-1]
    title = conn.execute(
        select(case_files.c.title).where(case_files.c.case_id == row["incident_id"])
    ).scalar_one()
    return Answer(
        True,
        _script(row, title, toll_free),
        row["incident_id"],
        row["reference"],
        bool(row["credit_code"]),
    )


def by_reference(conn: Connection, reference: str, toll_free: str) -> Answer:
    """The caller's notice by the reference code on their letter."""
    code = reference.strip().upper()
    if not REFERENCE.match(code):
        return Answer(False, NOT_FOUND)
    rows = conn.execute(select(breach_letters).where(breach_letters.c.reference == code)).mappings()
    return _answer(conn, [dict(r) for r in rows], toll_free)


def by_person(conn: Connection, name: str, dob: date, zip_code: str, toll_free: str) -> Answer:
    """The caller's notice by name, date of birth and ZIP: exactly one patient must match
    all three, else the answer is the same as for someone not affected."""
    wanted = clean_name(name) or ""
    parts = wanted.split()
    code = zip5(zip_code) or ""
    if len(parts) < 2 or not code:
        return Answer(False, NOT_FOUND)
    p = domain_table("patients")
    candidates = conn.execute(
        select(p.c.patient_id, p.c.first_name, p.c.last_name, p.c.zip).where(p.c.dob == dob)
    ).mappings()
    matched = [
        str(r["patient_id"])
        for r in candidates
        if (zip5(str(r["zip"] or "")) or "") == code
        and {clean_name(r["first_name"] or ""), clean_name(r["last_name"] or "")}
        == {parts[0], parts[-1]}
    ]
    if len(matched) != 1:
        return Answer(False, NOT_FOUND)
    rows = conn.execute(
        select(breach_letters).where(breach_letters.c.patient_id == matched[0])
    ).mappings()
    return _answer(conn, [dict(r) for r in rows], toll_free)


def _set(stores: Stores, reference: str, now: datetime | None, **values: Any) -> None:
    with stores.engine.begin() as conn:
        done = conn.execute(
            update(breach_letters)
            .where(breach_letters.c.reference == reference.strip().upper())
            .values(updated_at=(now or datetime.now()).replace(microsecond=0), **values)
        )
    if done.rowcount == 0:
        raise LookupError(f"no letter {reference}")


def mark_returned(
    stores: Stores, reference: str, note: str = "", now: datetime | None = None
) -> None:
    """The letter came back: the address is insufficient (substitute notice counts it)."""
    _set(stores, reference, now, status="returned", note=note or "returned undelivered")


def correct_address(
    stores: Stores, reference: str, address: str, now: datetime | None = None
) -> None:
    """The caller gave a new address: the letter is queued to be mailed again there."""
    if len(address.strip()) < 8:
        raise ValueError("give the whole mailing address: street, city, state and ZIP")
    _set(
        stores,
        reference,
        now,
        status="remail",
        address=" ".join(address.split()),
        note="address corrected by the caller",
    )
