"""Guards: what a transition needs before it may happen, and why it may not.

A guard is one of the forms a procedure file writes in ``requires``: ``document:KIND``
(an upload of that kind), ``fact:NAME`` (a fact recorded on the case), ``input:NAME`` (a
value given with the transition), ``reason``, ``summary``, ``tasks_done``, or
alternatives joined by ``|``. Each unmet guard is reported in words a person can act on.
"""

from __future__ import annotations

from sqlalchemy import func, select

from phiwarden.cases.effects import Ctx
from phiwarden.cases.procedure import TransitionSpec
from phiwarden.store.case_tables import case_documents, case_tasks


def _met(ctx: Ctx, guard: str, kinds: set[str], open_tasks: int) -> bool:
    kind, _, name = guard.partition(":")
    if kind == "document":
        return name in kinds
    if kind == "fact":
        return bool((ctx.case["details"].get("facts") or {}).get(name))
    if kind == "input":
        return bool(ctx.inputs.get(name))
    if kind == "reason":
        return bool(ctx.reason and ctx.reason.strip())
    if kind == "summary":
        return bool((ctx.inputs.get("summary") or ctx.case.get("summary") or "").strip())
    if kind == "tasks_done":
        return open_tasks == 0
    return False


def _describe(ctx: Ctx, guard: str, open_tasks: int) -> str:
    kind, _, name = guard.partition(":")
    if kind == "document":
        return f"not uploaded: {ctx.procedure.documents[name].title}"
    if kind == "fact":
        return f"not recorded: {ctx.procedure.facts[name].title}"
    if kind == "input":
        return f"give {name}"
    if kind == "reason":
        return "give the reason"
    if kind == "summary":
        return "write the case summary"
    return f"{open_tasks} task(s) are not signed off"


def unmet(ctx: Ctx, transition: TransitionSpec) -> list[str]:
    """What ``transition`` still needs, in words; empty when it may happen."""
    kinds = {
        str(k)
        for (k,) in ctx.conn.execute(
            select(case_documents.c.kind).where(case_documents.c.case_id == ctx.case_id)
        )
    }
    open_tasks = int(
        ctx.conn.execute(
            select(func.count())
            .select_from(case_tasks)
            .where(case_tasks.c.case_id == ctx.case_id, case_tasks.c.status == "open")
        ).scalar_one()
    )
    missing: list[str] = []
    for guard in transition.requires:
        options = guard.split("|")
        if not any(_met(ctx, g, kinds, open_tasks) for g in options):
            missing.append(" or ".join(_describe(ctx, g, open_tasks) for g in options))
    return missing
