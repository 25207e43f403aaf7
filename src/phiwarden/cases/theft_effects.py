"""The identity-theft procedure's steps on the hospital's records (seed 003 section IX):
the registration alert, notes on visits and accounts, billing holds and their release,
the identity-theft balance adjustment, and the payer-refund worklist.

phiwarden does not change the billing system's own rows: holds, adjustments and refunds
are its own records, shown to the billing role and exported (API and CSV) for the billing
system to take.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update

from phiwarden.cases.effects import Ctx, effect, notify_role
from phiwarden.store.case_tables import (
    billing_adjustments,
    billing_holds,
    patient_alerts,
    payer_refunds,
    record_moves,
    record_notes,
)
from phiwarden.store.repositories import domain_table

BUSINESS_OFFICE = "Business Office Director or Manager"


def involved_accounts(ctx: Ctx) -> list[str]:
    """The accounts in question: those linked, and those the linked encounters bill to."""
    found = set(ctx.links("account"))
    encounters = ctx.links("encounter")
    if encounters:
        tx = domain_table("transactions")
        rows = ctx.conn.execute(
            select(tx.c.account_id).where(tx.c.encounter_id.in_(encounters)).distinct()
        )
        billed = {str(a) for (a,) in rows if a}
        found |= billed or _opened_with(ctx, encounters)
    return sorted(found)


def _opened_with(ctx: Ctx, encounters: list[str]) -> set[str]:
    """Accounts opened on the chart within a day of an encounter: the account a visit
    bills to before any charge has posted."""
    enc, accounts = domain_table("encounters"), domain_table("billing_accounts")
    found: set[str] = set()
    for patient_id, start in ctx.conn.execute(
        select(enc.c.patient_id, enc.c.start).where(enc.c.encounter_id.in_(encounters))
    ):
        rows = ctx.conn.execute(
            select(accounts.c.account_id).where(
                accounts.c.patient_id == patient_id,
                accounts.c.opened_at >= start - timedelta(days=1),
                accounts.c.opened_at <= start + timedelta(days=1),
            )
        )
        found |= {str(a) for (a,) in rows}
    return found


@effect("registration_alert")
def registration_alert(ctx: Ctx) -> None:
    """IX.4: an alert to anyone registering the victim that the identity is in question."""
    for patient_id in ctx.subjects("victim"):
        active = ctx.conn.execute(
            select(patient_alerts.c.alert_id).where(
                patient_alerts.c.patient_id == patient_id,
                patient_alerts.c.case_id == ctx.case_id,
                patient_alerts.c.removed_at.is_(None),
            )
        ).first()
        if active:
            continue
        ctx.conn.execute(
            insert(patient_alerts).values(
                patient_id=patient_id,
                case_id=ctx.case_id,
                text=ctx.setting("alert_text"),
                action=ctx.setting("alert_action"),
                placed_at=ctx.now,
            )
        )
        ctx.event("alert", f"Registration alert placed: {ctx.setting('alert_text')}", cites="IX.4")


@effect("remove_registration_alert")
def remove_registration_alert(ctx: Ctx) -> None:
    """The allegation is settled: the registration alert comes off, with the reason."""
    why = ctx.reason or f"case {ctx.case['state']}"
    done = ctx.conn.execute(
        update(patient_alerts)
        .where(patient_alerts.c.case_id == ctx.case_id, patient_alerts.c.removed_at.is_(None))
        .values(removed_at=ctx.now, removed_reason=why)
    ).rowcount
    if done:
        ctx.event("alert", "Registration alert removed", reason=why)


def _note(ctx: Ctx, level: str, ref: str, text: str) -> None:
    ctx.conn.execute(
        insert(record_notes).values(
            case_id=ctx.case_id, level=level, ref=ref, text=text, at=ctx.now, by=ctx.actor
        )
    )


@effect("visit_notes")
def visit_notes(ctx: Ctx) -> None:
    """IX.4: a note at visit level on each encounter in question."""
    encounters = ctx.links("encounter")
    for encounter_id in encounters:
        _note(
            ctx,
            "visit",
            encounter_id,
            f"Identity theft alleged (case {ctx.case_id}): this visit may not be the "
            "patient's own. Do not release or bill until the case is resolved.",
        )
    if encounters:
        ctx.event(
            "note", f"Visit-level note placed on {len(encounters)} encounter(s)", cites="IX.4"
        )


@effect("account_notes")
def account_notes(ctx: Ctx) -> None:
    """IX.8c: a note at account level that this was a case of identity theft."""
    moved = _moved_accounts(ctx) or involved_accounts(ctx)
    for account_id in moved:
        _note(
            ctx,
            "account",
            account_id,
            f"Identity theft (case {ctx.case_id}): encounters on this account were received "
            "by someone using another person's identity and were separated from that record.",
        )
    if moved:
        ctx.event("note", f"Account-level note placed on {len(moved)} account(s)", cites="IX.8c")


def _moved_accounts(ctx: Ctx) -> list[str]:
    rows = ctx.conn.execute(
        select(record_moves.c.row_key)
        .where(
            record_moves.c.case_id == ctx.case_id,
            record_moves.c.table_name == "billing_accounts",
            record_moves.c.undone_at.is_(None),
        )
        .distinct()
    )
    return sorted(str(r) for (r,) in rows)


@effect("suspend_billing")
def suspend_billing(ctx: Ctx) -> None:
    """IX.6: billing is suspended on the accounts in question."""
    accounts = involved_accounts(ctx)
    held = {
        str(a)
        for (a,) in ctx.conn.execute(
            select(billing_holds.c.account_id).where(
                billing_holds.c.case_id == ctx.case_id, billing_holds.c.released_at.is_(None)
            )
        )
    }
    new = [a for a in accounts if a not in held]
    for account_id in new:
        ctx.conn.execute(
            insert(billing_holds).values(
                case_id=ctx.case_id, account_id=account_id, placed_at=ctx.now
            )
        )
    if not accounts:
        ctx.event(
            "billing",
            "No account in question is on file (no charge posted, no account opened with the "
            "visit): suspend billing in the billing system by hand",
            cites="IX.6",
        )
    if new:
        ctx.event("billing", f"Billing suspended on {len(new)} account(s)", cites="IX.6")
        notify_role(ctx, BUSINESS_OFFICE, "Billing suspended on the accounts in question")


@effect("resume_billing")
def resume_billing(ctx: Ctx) -> None:
    """IX.6: billing resumes (papers not in after the period, or allegation settled)."""
    why = ctx.reason or (
        "the ID, affidavit and police report were not all received in "
        f"{ctx.setting('billing_suspension_days')} days"
        if ctx.case["state"] == "alleged"
        else f"case {ctx.case['state']}"
    )
    released = ctx.conn.execute(
        update(billing_holds)
        .where(billing_holds.c.case_id == ctx.case_id, billing_holds.c.released_at.is_(None))
        .values(released_at=ctx.now, release_reason=why)
    ).rowcount
    if released:
        ctx.event("billing", f"Billing resumed on {released} account(s)", cites="IX.6", reason=why)
        notify_role(ctx, BUSINESS_OFFICE, "Billing resumed on the accounts in question")


@effect("adjust_balances")
def adjust_balances(ctx: Ctx) -> None:
    """IX.7: the balance on the accounts in question is adjusted with the identity-theft
    code, once per account."""
    code = str(ctx.setting("adjustment_code"))
    done = {
        str(a)
        for (a,) in ctx.conn.execute(
            select(billing_adjustments.c.account_id).where(
                billing_adjustments.c.case_id == ctx.case_id
            )
        )
    }
    accounts, tx = domain_table("billing_accounts"), domain_table("transactions")
    total = 0.0
    count = 0
    for account_id in involved_accounts(ctx):
        if account_id in done:
            continue
        balance = ctx.conn.execute(
            select(accounts.c.balance).where(accounts.c.account_id == account_id)
        ).scalar()
        if balance is None:
            balance = ctx.conn.execute(
                select(func.coalesce(func.sum(tx.c.amount), 0.0)).where(
                    tx.c.account_id == account_id
                )
            ).scalar_one()
        amount = -round(float(balance or 0.0), 2)
        ctx.conn.execute(
            insert(billing_adjustments).values(
                case_id=ctx.case_id, account_id=account_id, code=code, amount=amount, at=ctx.now
            )
        )
        total += amount
        count += 1
    if count:
        ctx.event(
            "billing",
            f"Balance adjusted with code {code} on {count} account(s), {total:,.2f} in all",
            cites="IX.7",
        )
        notify_role(ctx, BUSINESS_OFFICE, f"Identity-theft adjustments ({code}) to post")


@effect("refund_worklist")
def refund_worklist(ctx: Ctx) -> None:
    """IX.9: the payments third-party payers made on the moved encounters, per payer."""
    moved = [
        str(r)
        for (r,) in ctx.conn.execute(
            select(record_moves.c.row_key)
            .where(
                record_moves.c.case_id == ctx.case_id,
                record_moves.c.table_name == "encounters",
                record_moves.c.undone_at.is_(None),
            )
            .distinct()
        )
    ]
    if not moved:
        return
    listed = {
        str(t)
        for (t,) in ctx.conn.execute(
            select(payer_refunds.c.transaction_id).where(payer_refunds.c.case_id == ctx.case_id)
        )
    }
    tx = domain_table("transactions")
    rows = ctx.conn.execute(
        select(tx.c.transaction_id, tx.c.payer, tx.c.account_id, tx.c.encounter_id, tx.c.amount)
        .where(tx.c.encounter_id.in_(moved), tx.c.kind == "payer_payment")
        .order_by(tx.c.payer, tx.c.transaction_id)
    ).mappings()
    new = [r for r in rows if r["transaction_id"] not in listed]
    for r in new:
        ctx.conn.execute(
            insert(payer_refunds).values(
                case_id=ctx.case_id,
                transaction_id=r["transaction_id"],
                payer=r["payer"],
                account_id=r["account_id"],
                encounter_id=r["encounter_id"],
                amount=abs(float(r["amount"] or 0.0)),
                listed_at=ctx.now,
            )
        )
    if new:
        ctx.event("billing", f"{len(new)} payer payment(s) listed for refund", cites="IX.9")
