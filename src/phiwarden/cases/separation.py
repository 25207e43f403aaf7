"""Record separation (seed 003 IX.8): the encounters the thief received move off the
victim's chart, with everything recorded in them, and can be moved back exactly.

Offender unknown: to the placeholder chart "Theft, Identity F" (MRN 299975) or "Theft,
Identity M" (MRN 299918), by sex (IX.8a). Offender known: to the offender's chart, found by
MRN, or to a new chart (IX.8b). The registrations keep the demographics that were
presented (the victim's), for reference. Every changed value is written to
``record_moves`` first, so ``undo`` restores each row as it was; the HL7 v2 messages that
tell downstream systems (A45 per visit, A44 per account, A08 for the name) go to the
outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update

from phiwarden.cases.effects import Ctx, Refused, effect
from phiwarden.cases.hl7_out import queue_moves
from phiwarden.cases.theft_effects import involved_accounts
from phiwarden.store.case_tables import (
    case_tasks,
    identity_placeholders,
    payer_refunds,
    record_moves,
)
from phiwarden.store.repositories import domain_table

#: (table, the column naming the encounter) of the rows that move with an encounter
_BY_ENCOUNTER = (
    ("encounters", "encounter_id"),
    ("orders", "encounter_id"),
    ("prescriptions", "encounter_id"),
    ("registrations", "encounter_id"),
)


#: The chart layout needs a date of birth; a placeholder has none of its own (each moved
#: visit keeps the victim's demographics on its registration, IX.8a).
UNKNOWN_DOB = date(1900, 1, 1)


def _dob(ctx: Ctx) -> date:
    given = ctx.inputs.get("offender_dob")
    if not given:
        return UNKNOWN_DOB
    try:
        return date.fromisoformat(str(given))
    except ValueError as exc:
        raise Refused("offender_dob is YYYY-MM-DD") from exc


def _record(ctx: Ctx, batch: int, table: str, key: str, column: str, old: Any, new: Any) -> None:
    ctx.conn.execute(
        insert(record_moves).values(
            case_id=ctx.case_id,
            batch=batch,
            table_name=table,
            row_key=key,
            column_name=column,
            old_value=None if old is None else str(old),
            new_value=None if new is None else str(new),
            moved_at=ctx.now,
        )
    )


def _set(ctx: Ctx, batch: int, table: Table, key: str, values: dict[str, Any]) -> None:
    pk = next(iter(table.primary_key.columns))
    row = ctx.conn.execute(select(table).where(pk == key)).mappings().one()
    for column, new in values.items():
        if row[column] != new:
            _record(ctx, batch, table.name, key, column, row[column], new)
    ctx.conn.execute(update(table).where(pk == key).values(**values))


def _placeholder(ctx: Ctx, batch: int, sex: str) -> dict[str, Any]:
    spec = ctx.setting("placeholder_male" if sex == "M" else "placeholder_female")
    patients = domain_table("patients")
    row = ctx.conn.execute(select(patients).where(patients.c.mrn == spec["mrn"])).mappings().first()
    if row is None:
        last, _, first = str(spec["name"]).partition(",")
        pid = f"PLACEHOLDER-{spec['mrn']}"
        ctx.conn.execute(
            insert(patients).values(
                patient_id=pid,
                mrn=spec["mrn"],
                last_name=last.strip(),
                first_name=first.strip(),
                sex=spec["sex"],
                dob=UNKNOWN_DOB,
            )
        )
        _record(ctx, batch, "patients", pid, "__created__", None, spec["mrn"])
        row = (
            ctx.conn.execute(select(patients).where(patients.c.patient_id == pid)).mappings().one()
        )
    known = ctx.conn.execute(
        select(identity_placeholders.c.patient_id).where(
            identity_placeholders.c.patient_id == row["patient_id"]
        )
    ).first()
    if known is None:
        ctx.conn.execute(
            insert(identity_placeholders).values(
                patient_id=row["patient_id"], mrn=row["mrn"], label=spec["name"]
            )
        )
        _record(ctx, batch, "identity_placeholders", row["patient_id"], "__created__", None, "1")
    return dict(row)


def _new_chart(ctx: Ctx, batch: int, name: str, sex: str | None) -> dict[str, Any]:
    patients = domain_table("patients")
    prefix = str(ctx.setting("new_mrn_prefix"))
    count = ctx.conn.execute(
        select(func.count()).select_from(patients).where(patients.c.mrn.like(f"{prefix}%"))
    ).scalar_one()
    mrn = f"{prefix}{count + 1:06d}"
    last, _, first = name.partition(",")
    pid = f"OFFENDER-{mrn}"
    ctx.conn.execute(
        insert(patients).values(
            patient_id=pid,
            mrn=mrn,
            last_name=last.strip(),
            first_name=first.strip() or None,
            sex=sex,
            dob=_dob(ctx),
        )
    )
    _record(ctx, batch, "patients", pid, "__created__", None, mrn)
    return dict(
        ctx.conn.execute(select(patients).where(patients.c.patient_id == pid)).mappings().one()
    )


def target_chart(
    ctx: Ctx, batch: int, victim: dict[str, Any], encounters: Sequence[str]
) -> dict[str, Any]:
    """Where the encounters go, from the ``offender`` input: "unknown", "mrn:MRN" or
    "new:Last, First"."""
    offender = str(ctx.inputs.get("offender") or "").strip()
    sex = ctx.inputs.get("sex") or _presented_sex(ctx, encounters) or victim.get("sex")
    if offender == "unknown":
        return _placeholder(ctx, batch, "M" if sex == "M" else "F")
    kind, _, value = offender.partition(":")
    patients = domain_table("patients")
    if kind == "mrn" and value.strip():
        row = (
            ctx.conn.execute(select(patients).where(patients.c.mrn == value.strip()))
            .mappings()
            .first()
        )
        if row is None:
            raise Refused(f"no patient with MRN {value.strip()}: check it with 'phiwarden link'")
        if row["patient_id"] == victim["patient_id"]:
            raise Refused("the offender's MRN is the victim's own")
        if _is_placeholder(ctx, row["patient_id"]):
            raise Refused("that MRN is an identity-theft placeholder: give offender=unknown")
        return dict(row)
    if kind == "new" and value.strip():
        return _new_chart(ctx, batch, value.strip(), sex if sex in ("M", "F") else None)
    raise Refused('give offender as "unknown", "mrn:MRN" (an existing chart) or "new:Last, First"')


def _is_placeholder(ctx: Ctx, patient_id: str) -> bool:
    return (
        ctx.conn.execute(
            select(identity_placeholders.c.patient_id).where(
                identity_placeholders.c.patient_id == patient_id
            )
        ).first()
        is not None
    )


def _presented_sex(ctx: Ctx, encounters: Sequence[str]) -> str | None:
    reg = domain_table("registrations")
    row = ctx.conn.execute(
        select(reg.c.presented_sex).where(
            reg.c.encounter_id.in_(encounters), reg.c.presented_sex.is_not(None)
        )
    ).first()
    return str(row[0]) if row else None


@effect("separate_records")
def separate_records(ctx: Ctx) -> None:
    """Move the encounters in question, and what was recorded in them, to the target chart."""
    encounters = ctx.links("encounter")
    victims = ctx.subjects("victim")
    if not encounters or not victims:
        raise Refused("the case names no encounters in question (or no victim) to separate")
    batch = (
        int(ctx.conn.execute(select(func.coalesce(func.max(record_moves.c.batch), 0))).scalar_one())
        + 1
    )
    patients = domain_table("patients")
    enc = domain_table("encounters")
    owners = {
        str(e): str(p)
        for e, p in ctx.conn.execute(
            select(enc.c.encounter_id, enc.c.patient_id).where(enc.c.encounter_id.in_(encounters))
        )
    }
    missing = sorted(set(encounters) - set(owners))
    if missing:
        raise Refused(f"encounter(s) not in the store: {', '.join(missing)}")
    victim = dict(
        ctx.conn.execute(select(patients).where(patients.c.patient_id == owners[encounters[0]]))
        .mappings()
        .one()
    )
    target = target_chart(ctx, batch, victim, encounters)
    moved_accounts = _move(ctx, batch, encounters, target)
    placeholder = _is_placeholder(ctx, target["patient_id"])
    queue_moves(ctx, victim, target, encounters, moved_accounts, victim if placeholder else target)
    ctx.event(
        "separation",
        f"{len(encounters)} encounter(s) and {len(moved_accounts)} account(s) moved to MRN "
        f"{target['mrn']} ({target['last_name']}, {target['first_name'] or ''})".rstrip(", ()")
        + ")",
        cites="IX.8a" if ctx.inputs.get("offender") == "unknown" else "IX.8b",
        detail={"batch": batch, "target_mrn": target["mrn"], "encounters": len(encounters)},
    )


def _move(ctx: Ctx, batch: int, encounters: Sequence[str], target: dict[str, Any]) -> list[str]:
    pid = target["patient_id"]
    for name, via in _BY_ENCOUNTER:
        table = domain_table(name)
        pk = next(iter(table.primary_key.columns))
        keys = [str(k) for (k,) in ctx.conn.execute(select(pk).where(table.c[via].in_(encounters)))]
        values: dict[str, Any] = {"patient_id": pid}
        if name == "registrations":
            values["mrn"] = target["mrn"]
        for k in keys:
            _set(ctx, batch, table, k, values)
    orders, labs = domain_table("orders"), domain_table("lab_results")
    order_ids = select(orders.c.order_id).where(orders.c.encounter_id.in_(encounters))
    for (k,) in ctx.conn.execute(
        select(labs.c.result_id).where(labs.c.order_id.in_(order_ids))
    ).all():
        _set(ctx, batch, labs, str(k), {"patient_id": pid})
    tx, accounts = domain_table("transactions"), domain_table("billing_accounts")
    billed = select(tx.c.account_id).where(tx.c.encounter_id.in_(encounters)).distinct()
    candidates = {str(a) for (a,) in ctx.conn.execute(billed) if a} | set(involved_accounts(ctx))
    moved: list[str] = []
    for account_id in sorted(candidates):
        others = ctx.conn.execute(
            select(func.count())
            .select_from(tx)
            .where(
                tx.c.account_id == account_id,
                tx.c.encounter_id.is_not(None),
                tx.c.encounter_id.not_in(encounters),
            )
        ).scalar_one()
        if others == 0:
            _set(ctx, batch, accounts, account_id, {"patient_id": pid})
            moved.append(account_id)
    return moved


@effect("undo_separation")
def undo_separation(ctx: Ctx) -> None:
    """Put back every value the case's separation changed, newest first, exactly, and tell
    the downstream systems the visits moved back."""
    rows = (
        ctx.conn.execute(
            select(record_moves)
            .where(record_moves.c.case_id == ctx.case_id, record_moves.c.undone_at.is_(None))
            .order_by(record_moves.c.move_id.desc())
        )
        .mappings()
        .all()
    )
    if not rows:
        raise Refused("this case has no separation to undo")
    patients = domain_table("patients")
    back = [
        r
        for r in rows
        if r["table_name"] in ("encounters", "billing_accounts")
        and r["column_name"] == "patient_id"
    ]
    charts = {
        str(p["patient_id"]): dict(p)
        for p in ctx.conn.execute(
            select(patients).where(
                patients.c.patient_id.in_(
                    {r["old_value"] for r in back} | {r["new_value"] for r in back}
                )
            )
        ).mappings()
    }
    for r in rows:
        if r["column_name"] == "__created__":
            continue
        table = domain_table(r["table_name"])
        pk = next(iter(table.primary_key.columns))
        ctx.conn.execute(
            update(table).where(pk == r["row_key"]).values({r["column_name"]: r["old_value"]})
        )
    _drop_created(ctx, rows)
    if back:
        victim, moved_to = charts[back[0]["old_value"]], charts[back[0]["new_value"]]
        queue_moves(
            ctx,
            moved_to,
            victim,
            [r["row_key"] for r in back if r["table_name"] == "encounters"],
            [r["row_key"] for r in back if r["table_name"] == "billing_accounts"],
            victim,
        )
    ctx.conn.execute(
        delete(payer_refunds).where(
            payer_refunds.c.case_id == ctx.case_id, payer_refunds.c.refunded_at.is_(None)
        )
    )
    ctx.conn.execute(
        update(record_moves)
        .where(record_moves.c.case_id == ctx.case_id, record_moves.c.undone_at.is_(None))
        .values(undone_at=ctx.now)
    )
    verify = [t.key for t in ctx.procedure.state("separated").tasks]
    ctx.conn.execute(
        update(case_tasks)
        .where(
            case_tasks.c.case_id == ctx.case_id,
            case_tasks.c.status == "open",
            case_tasks.c.key.in_(verify),
        )
        .values(status="cancelled", done_at=ctx.now, note="separation undone")
    )
    ctx.event("separation", f"Separation undone: {len(rows)} value(s) restored", reason=ctx.reason)


def _drop_created(ctx: Ctx, rows: Sequence[Any]) -> None:
    """Remove the charts the separation created, unless another case's visits are on them."""
    enc = domain_table("encounters")
    for r in rows:
        if r["column_name"] != "__created__":
            continue
        table = (
            identity_placeholders
            if r["table_name"] == "identity_placeholders"
            else domain_table(r["table_name"])
        )
        pk = next(iter(table.primary_key.columns))
        in_use = ctx.conn.execute(
            select(enc.c.encounter_id).where(enc.c.patient_id == r["row_key"]).limit(1)
        ).first()
        if in_use is None:
            ctx.conn.execute(delete(table).where(pk == r["row_key"]))
