"""``phiwarden cases``: the case queue, one case, opening an identity-theft case. (``cases
tick``, which also runs the breach reminders and the audit anchor, is in ``phiwarden.tick``.)"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail

cases_app = typer.Typer(help="Cases run by the program's procedures.", no_args_is_help=True)

CLI_ACTOR = "cli"


def _queue_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["case_id"],
        "type": row["case_type"],
        "state": row["state"],
        "subjects": row["subjects"],
        "assignee": row["assignee"],
        "due": row["due_at"].isoformat() if row["due_at"] else None,
    }


@cases_app.command("list")
def cases_list(
    case_type: Annotated[str | None, typer.Option("--type", help="identity_theft, ...")] = None,
    state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only cases assigned to this person.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The case queue, soonest due first."""
    from phiwarden.cases.casefile import list_cases

    stores = _stores()
    with stores.engine.connect() as conn:
        rows, total = list_cases(
            conn, case_type=case_type, state=state, assignee=assignee, limit=limit
        )
    if as_json:
        _print_json({"cases": [_queue_json(r) for r in rows], "total": total})
        return
    table = Table("case", "type", "state", "assignee", "due", "title")
    for r in rows:
        due = f"{r['due_at']:%Y-%m-%d %H:%M}" if r["due_at"] else ""
        table.add_row(
            r["case_id"], r["case_type"], r["state"], r["assignee"] or "", due, r["title"]
        )
    out.print(table)
    out.print(f"{len(rows)} of {total} case(s)")


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="The case number, e.g. IT-2026-00001.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One case: its state, timeline, tasks, documents and timers."""
    from phiwarden.cases.casefile import get_case

    stores = _stores()
    with stores.engine.connect() as conn:
        case = get_case(conn, case_id)
    if case is None:
        fail(f"no case {case_id}: 'phiwarden cases list' shows the case numbers")
    if as_json:
        body = _queue_json(case)
        body.update(
            {
                "title": case["title"],
                "revision": case["revision"],
                "procedure": case["procedure"],
                "history": case["history"],
                "tasks": case["tasks"],
                "documents": case["documents"],
                "timers": case["timers"],
                "links": case["links"],
            }
        )
        _print_json(body)
        return
    out.print(f"[bold]{case['case_id']}[/bold] {case['title']}")
    out.print(
        f"state {case['state_title']} ({case['state_cites']}) · procedure "
        f"{case['procedure']['name']} v{case['procedure']['version']} · revision {case['revision']}"
    )
    for e in case["history"]:
        cite = f" [{e['cites']}]" if e["cites"] else ""
        out.print(f"  {e['at']:%Y-%m-%d %H:%M}  {e['actor']}: {e['summary']}{cite}")
    for t in case["tasks"]:
        out.print(f"  task {t['task_id']} [{t['status']}] {t['role']}: {t['title']}")


@cases_app.command("open")
def cases_open(
    victim_mrn: Annotated[str | None, typer.Option("--mrn", help="The victim's MRN.")] = None,
    flag: Annotated[str | None, typer.Option(help="Open from this red flag instead.")] = None,
    encounter: Annotated[list[str] | None, typer.Option(help="An encounter in question.")] = None,
    account: Annotated[list[str] | None, typer.Option(help="An account in question.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open (or join) a patient's identity-theft case, by MRN or from a red flag."""
    from phiwarden.cases import theft
    from phiwarden.cases.effects import Refused

    if bool(victim_mrn) == bool(flag):
        fail("give either --mrn or --flag")
    stores = _stores()
    try:
        if flag:
            opened = theft.from_flag(stores, flag, actor=CLI_ACTOR)
        else:
            opened = theft.allege(
                stores,
                victim_mrn=str(victim_mrn),
                actor=CLI_ACTOR,
                encounters=encounter or [],
                accounts=account or [],
            )
    except (*USER_ERRORS, LookupError, Refused) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"case_id": opened.case_id, "joined": opened.joined})
        return
    verb = "joined" if opened.joined else "opened"
    out.print(f"{verb} {opened.case_id}")
