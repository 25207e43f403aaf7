"""Opening identity-theft cases (seed 003 IX): from a red flag, from an intake of a
complaint or notice, or by hand; a patient has at most one open case, which later flags
and notices join.

A case names the victim (the patient whose identity was used), the encounters and the
accounts in question, and the red flags that raised it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from phiwarden.cases.effects import EFFECTS, Ctx, Refused
from phiwarden.cases.engine import change, open_case
from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.store.case_tables import case_files, case_links, case_subjects
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

PROCEDURE = "identity_theft"
#: states in which an allegation is settled: a new flag opens a new case instead of joining
SETTLED = ("unsubstantiated", "withdrawn", "closed")

#: intake kind -> (catalogue code, what the hospital received)
INTAKE_KINDS: dict[str, tuple[str, str]] = {
    "bill": ("HC-COMPLAINT", "a bill for care not received"),
    "eob": ("HC-COMPLAINT", "an insurer's explanation of benefits for services not received"),
    "collection_notice": ("HC-COMPLAINT", "a collection notice for care not received"),
    "credit_report": ("HC-COMPLAINT", "a credit-report entry from a health care provider"),
    "victim_notice": ("FTC-26", "a notice from the victim that an account is fraudulent"),
    "insurer_notice": ("FTC-25", "a notice from an insurer of charges not authorised"),
    "law_enforcement_notice": ("FTC-26", "a notice from law enforcement of identity theft"),
}


@dataclass(frozen=True)
class Opened:
    """The case an allegation opened or joined."""

    case_id: str
    joined: bool


def patient_by_mrn(conn: Connection, mrn: str) -> dict[str, Any]:
    """The patient with this MRN, or a LookupError that says so."""
    p = domain_table("patients")
    row = conn.execute(select(p).where(p.c.mrn == mrn)).mappings().first()
    if row is None:
        raise LookupError(f"no patient with MRN {mrn}")
    return dict(row)


def open_case_of(conn: Connection, patient_id: str) -> str | None:
    """The patient's open identity-theft case whose allegation is not settled, if any."""
    row = conn.execute(
        select(case_files.c.case_id)
        .select_from(
            case_files.join(case_subjects, case_subjects.c.case_id == case_files.c.case_id)
        )
        .where(
            case_files.c.case_type == PROCEDURE,
            case_files.c.closed_at.is_(None),
            case_files.c.state.not_in(SETTLED),
            case_subjects.c.kind == "patient",
            case_subjects.c.ref == patient_id,
            case_subjects.c.role == "victim",
        )
        .order_by(case_files.c.opened_at)
    ).first()
    return str(row[0]) if row else None


def encounters_of_flag(conn: Connection, flag: dict[str, Any]) -> list[str]:
    """The encounters a flag is about: its registration's, else its account's."""
    reg, tx = domain_table("registrations"), domain_table("transactions")
    if flag.get("registration_id"):
        rows = conn.execute(
            select(reg.c.encounter_id).where(reg.c.registration_id == flag["registration_id"])
        )
        found = [str(e) for (e,) in rows if e]
        if found:
            return found
    if flag.get("account_id"):
        rows = conn.execute(
            select(tx.c.encounter_id).where(tx.c.account_id == flag["account_id"]).distinct()
        )
        return sorted(str(e) for (e,) in rows if e)
    return []


def allege(
    stores: Stores,
    *,
    victim_mrn: str,
    actor: str,
    encounters: Sequence[str] = (),
    accounts: Sequence[str] = (),
    flags: Sequence[str] = (),
    source: str = "by hand",
    occurred: str | None = None,
    offender_name: str | None = None,
    now: datetime | None = None,
) -> Opened:
    """Open the victim's identity-theft case, or add to the one already open."""
    with stores.engine.connect() as conn:
        victim = patient_by_mrn(conn, victim_mrn)
        existing = open_case_of(conn, victim["patient_id"])
    links = [("encounter", e) for e in encounters] + [("account", a) for a in accounts]
    links += [("red_flag", f) for f in flags]
    if existing is not None:
        join(stores, existing, links, actor=actor, why=source, now=now)
        return Opened(existing, True)
    details: dict[str, Any] = {"source": source}
    if occurred:
        details["occurred"] = occurred
    if offender_name:
        details["offender_name"] = offender_name
    case_id = open_case(
        stores,
        PROCEDURE,
        actor=actor,
        title=f"Alleged identity theft: MRN {victim['mrn']}",
        subjects=[("patient", victim["patient_id"], "victim")],
        links=links,
        details=details,
        now=now,
    )
    return Opened(case_id, False)


def join(
    stores: Stores,
    case_id: str,
    links: Iterable[tuple[str, str]],
    *,
    actor: str,
    why: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add encounters, accounts or flags to an open case; new ones get the state's steps
    (a new encounter gets its visit note, a new account its billing hold)."""

    def work(ctx: Ctx) -> None:
        have = {
            (k, r)
            for k, r in ctx.conn.execute(
                select(case_links.c.kind, case_links.c.ref).where(case_links.c.case_id == case_id)
            )
        }
        new = [link for link in dict.fromkeys(links) if link not in have]
        for kind, ref in new:
            ctx.conn.execute(insert(case_links).values(case_id=case_id, kind=kind, ref=ref))
        ctx.event("linked", f"{len(new)} link(s) added: {why}", detail={"links": len(new)})
        if ctx.case["state"] == "alleged" and any(k in ("encounter", "account") for k, _ in new):
            state = ctx.procedure.state("alleged")
            # only the record-level steps: the people were told when the case opened
            for name in ("visit_notes", "suspend_billing"):
                if name in state.effects:
                    EFFECTS[name](ctx)

    return change(stores, case_id, None, actor, work, now=now)


def from_flag(stores: Stores, flag_id: str, *, actor: str, now: datetime | None = None) -> Opened:
    """Open (or join) the identity-theft case of the patient a red flag is on."""
    with stores.engine.connect() as conn:
        row = (
            conn.execute(select(red_flags).where(red_flags.c.flag_id == flag_id)).mappings().first()
        )
        if row is None:
            raise LookupError(f"no red flag {flag_id}")
        flag = dict(row)
        if not flag.get("patient_id"):
            raise Refused(f"red flag {flag_id} is on no patient: open the case by hand")
        p = domain_table("patients")
        mrn = conn.execute(select(p.c.mrn).where(p.c.patient_id == flag["patient_id"])).scalar()
        encounters = encounters_of_flag(conn, flag)
    if mrn is None:
        raise LookupError(f"red flag {flag_id}: its patient is not in the store")
    accounts = [flag["account_id"]] if flag.get("account_id") else []
    occurred = flag["occurred_at"].date().isoformat() if flag.get("occurred_at") else None
    return allege(
        stores,
        victim_mrn=str(mrn),
        actor=actor,
        encounters=encounters,
        accounts=accounts,
        flags=[flag_id],
        source=f"red flag {flag['code']} ({BY_CODE[flag['code']].title})",
        occurred=occurred,
        now=now,
    )


def intake(
    stores: Stores,
    *,
    kind: str,
    mrn: str,
    actor: str,
    description: str,
    account_id: str | None = None,
    encounters: Sequence[str] = (),
    received_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, Opened]:
    """Record a complaint or notice that reveals theft as a red flag of the matching
    catalogue entry, and open or join the patient's case; (flag id, case)."""
    if kind not in INTAKE_KINDS:
        raise Refused(f"unknown intake kind {kind!r}: use one of {', '.join(INTAKE_KINDS)}")
    code, what = INTAKE_KINDS[kind]
    at = (now or datetime.now()).replace(microsecond=0)
    received = received_at or at
    with stores.engine.connect() as conn:
        patient = patient_by_mrn(conn, mrn)
    subject = "|".join(
        (code, "intake", kind, patient["patient_id"], account_id or "", received.isoformat())
    )
    flag_id = "RF" + hashlib.sha256(subject.encode()).hexdigest()[:22]
    evidence = [f"received {what}"] + ([description.strip()[:500]] if description.strip() else [])
    with stores.engine.begin() as conn:
        if (
            conn.execute(select(red_flags.c.flag_id).where(red_flags.c.flag_id == flag_id)).first()
            is None
        ):
            conn.execute(
                insert(red_flags).values(
                    flag_id=flag_id,
                    code=code,
                    detector=f"intake_{kind}",
                    severity=BY_CODE[code].severity.value,
                    patient_id=patient["patient_id"],
                    mrn=patient["mrn"],
                    account_id=account_id,
                    evidence=evidence,
                    detected_at=at,
                    occurred_at=received,
                    status="open",
                )
            )
    flag = {"registration_id": None, "account_id": account_id}
    with stores.engine.connect() as conn:
        found = list(encounters) or encounters_of_flag(conn, flag)
    opened = allege(
        stores,
        victim_mrn=mrn,
        actor=actor,
        encounters=found,
        accounts=[account_id] if account_id else [],
        flags=[flag_id],
        source=f"intake: {what}",
        now=now,
    )
    return flag_id, opened
