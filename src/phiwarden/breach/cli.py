"""``phiwarden breach``: record an incident, list incidents, show one."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from phiwarden.breach.categories import LOCATIONS, TYPES
from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail

breach_app = typer.Typer(help="Breach incidents and their scoping.", no_args_is_help=True)


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} is YYYY-MM-DD, not {value!r}")


@breach_app.command("open")
def breach_open(
    title: Annotated[str, typer.Option(help="What happened, in a line.")],
    discovered: Annotated[str, typer.Option(help="When it was discovered (YYYY-MM-DD).")],
    type_: Annotated[str, typer.Option("--type", help=" | ".join(TYPES))],
    location: Annotated[str, typer.Option(help=" | ".join(LOCATIONS))],
    occurred_from: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    occurred_to: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD).")] = None,
    business_associate: Annotated[
        bool, typer.Option("--business-associate", help="A business associate was involved.")
    ] = False,
    description: Annotated[str, typer.Option(help="What happened.")] = "",
    safeguards: Annotated[str, typer.Option(help="Safeguards in place before.")] = "",
    actions: Annotated[str, typer.Option(help="Actions taken.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Record a breach incident (HHS portal categories); prints its number."""
    from phiwarden.breach.incident import Incident, open_incident

    found = _day(discovered, "--discovered")
    assert found is not None
    incident = Incident(
        title=title,
        discovered=found,
        type=type_,
        location=location,
        occurred_from=_day(occurred_from, "--occurred-from"),
        occurred_to=_day(occurred_to, "--occurred-to"),
        business_associate=business_associate,
        description=description,
        safeguards=safeguards,
        actions=actions,
    )
    stores = _stores()
    try:
        incident_id = open_incident(stores, incident, actor="cli")
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"incident": incident_id})
        return
    out.print(f"opened incident {incident_id}")


@breach_app.command("list")
def breach_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The incidents."""
    from phiwarden.breach.incident import list_incidents

    stores = _stores()
    with stores.engine.connect() as conn:
        found = list_incidents(conn)
    if as_json:
        _print_json({"incidents": found})
        return
    for i in found:
        out.print(
            f"{i['incident']}  {i['status']:<13} discovered {i['discovered']}  "
            f"{i['type_label']} / {i['location_label']}  {i['title']}",
            highlight=False,
        )
    out.print(f"{len(found)} incident(s)")


@breach_app.command("show")
def breach_show(
    incident_id: Annotated[str, typer.Argument(help="The incident number, e.g. BR-2026-00001.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One incident: what was recorded, its status, history and tasks."""
    from phiwarden.breach.incident import get_incident

    stores = _stores()
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident_id)
    if found is None:
        fail(f"no incident {incident_id}: 'phiwarden breach list' shows the incident numbers")
    case = found.pop("case")
    if as_json:
        _print_json({**found, "history": case["history"], "tasks": case["tasks"]})
        return
    out.print(f"[bold]{found['incident']}[/bold] {found['title']} ({found['status']})")
    out.print(
        f"discovered {found['discovered']}; occurred {found['occurred_from'] or '?'} to "
        f"{found['occurred_to'] or '?'}; {found['type_label']}, {found['location_label']}; "
        f"business associate: {'yes' if found['business_associate'] else 'no'}",
        highlight=False,
    )
    for e in case["history"]:
        out.print(f"  {e['at']:%Y-%m-%d %H:%M}  {e['actor']}: {e['summary']}", highlight=False)
