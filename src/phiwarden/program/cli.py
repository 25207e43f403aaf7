"""``phiwarden program``: the board report, the training roster, service providers, the
program review log, the dashboard, and opening a privacy investigation."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import parse_day as _day
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail

program_app = typer.Typer(help="The privacy program's administration.", no_args_is_help=True)
training_app = typer.Typer(help="The training roster.", no_args_is_help=True)
providers_app = typer.Typer(help="Service providers and business associates.", no_args_is_help=True)
program_app.add_typer(training_app, name="training")
program_app.add_typer(providers_app, name="providers")

CLI_ACTOR = "cli"


@program_app.command("report")
def report_cmd(
    year: Annotated[int, typer.Option(help="The calendar year reported on.", min=2000, max=2100)],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PDF and the HTML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the paths as JSON.")] = False,
) -> None:
    """Write board-report-YYYY.pdf and board-report-YYYY.html from the program's records."""
    from phiwarden.program.board import WRITTEN
    from phiwarden.program.board_output import write_report

    stores = _stores()
    try:
        pdf, html, figures = write_report(stores, year, out_dir)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"pdf": str(pdf), "html": str(html), "year": year})
        return
    out.print(f"Board report {year}: [bold]{pdf}[/] and {html}")
    officer = figures["officer"]
    missing = [k for k in WRITTEN if not officer.get(k)]
    if missing:
        out.print(
            f"[yellow]Not written yet[/] ({', '.join(missing)}): write them in "
            f"{officer['path']} and run this again."
        )


@training_app.command("import")
def training_import(
    path: Annotated[
        Path,
        typer.Argument(help="CSV with user_id, course, completed_on.", exists=True, dir_okay=False),
    ],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Load completions from the learning system's CSV; bad rows go to quarantine."""
    from phiwarden.program.settings import load_program
    from phiwarden.program.training import import_csv

    stores = _stores()
    try:
        done = import_csv(stores, path, load_program(stores.settings.hospital_config))
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    result = {"loaded": done.loaded, "already": done.already, "quarantined": done.quarantined}
    if as_json:
        _print_json(result)
        return
    out.print(
        f"{done.loaded} completion(s) loaded, {done.already} already known, "
        f"{done.quarantined} row(s) to quarantine"
    )


@training_app.command("show")
def training_show(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    today: Annotated[str | None, typer.Option(help="Date of the roster (YYYY-MM-DD).")] = None,
) -> None:
    """Who is current and who is overdue, by department."""
    from phiwarden.program.settings import load_program
    from phiwarden.program.training import roster

    stores = _stores()
    on = _day(today, "--today") or date.today()
    try:
        found = roster(stores, load_program(stores.settings.hospital_config), on)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(found)
        return
    table = Table("department", "members", "current", "overdue")
    for d in found["departments"]:
        table.add_row(str(d["department"]), str(d["members"]), str(d["current"]), str(d["overdue"]))
    out.print(table)


@providers_app.command("import")
def providers_import(
    path: Annotated[Path, typer.Argument(help="CSV of providers.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add or update service providers from a CSV; bad rows go to quarantine."""
    from phiwarden.program.providers import import_csv

    stores = _stores()
    try:
        done = import_csv(stores, path)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"saved": done.saved, "quarantined": done.quarantined})
        return
    out.print(f"{done.saved} provider(s) saved, {done.quarantined} row(s) to quarantine")


@providers_app.command("list")
def providers_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Providers with their BAA, last review, next review and what needs attention."""
    from phiwarden.program.providers import list_providers

    rows = list_providers(_stores(), date.today())
    if as_json:
        _print_json(rows)
        return
    table = Table("provider", "BAA signed", "next review", "attention")
    for r in rows:
        table.add_row(
            r["name"],
            str(r["baa_signed"] or "-"),
            str(r["next_review"]),
            "; ".join(r["issues"]) or "",
        )
    out.print(table)


@program_app.command("approve")
def approve_cmd(
    subject: Annotated[
        str, typer.Argument(help="redflag_catalogue, sanction_policy or procedure:NAME")
    ],
    by: Annotated[str, typer.Option("--by", help="Who approved it (board, committee).")],
    on: Annotated[str, typer.Option("--on", help="Date approved (YYYY-MM-DD).")],
    note: Annotated[str, typer.Option(help="What changed and why.")] = "",
) -> None:
    """Record the version in force of a program document as approved."""
    from phiwarden.program.reviews import approve

    day = _day(on, "--on") or date.today()
    try:
        done = approve(_stores(), subject, by, day, actor=CLI_ACTOR, note=note)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(
        f"Approved {done['subject']} version {done['version']} (SHA-256 {done['sha256'][:12]})"
    )


@program_app.command("log")
def log_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The program review log (newest first) and what is in force but not approved."""
    from phiwarden.program.reviews import log, pending

    stores = _stores()
    with stores.engine.connect() as conn:
        entries = log(conn)
    waiting = pending(stores)
    if as_json:
        _print_json({"approved": entries, "pending": waiting})
        return
    for e in entries:
        out.print(
            f"[bold]{e['approved_on']}[/] {e['subject']} version {e['version']}, "
            f"approved by {e['approved_by']}"
        )
        for line in e["diff"]:
            out.print(f"    {line}", markup=False, highlight=False)
    for p in waiting:
        state = "never approved" if p.get("never") else "changed since approved"
        out.print(f"[yellow]{p['subject']}[/]: {p.get('problem') or state}")


@program_app.command("investigate")
def investigate_cmd(
    alert: Annotated[
        list[str] | None, typer.Option("--alert", help="An alert id (repeat).")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="The workforce member (for a complaint).")
    ] = None,
    complaint: Annotated[str | None, typer.Option(help="What the complainant said.")] = None,
    since: Annotated[str | None, typer.Option(help="Window start (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Window end (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open a privacy investigation from alerts or a complaint (evidence frozen)."""
    from phiwarden.program.investigation import open_investigation

    try:
        case_id, new = open_investigation(
            _stores(),
            actor=CLI_ACTOR,
            alert_ids=alert or [],
            user_id=user,
            complaint=complaint,
            since=_day(since, "--since"),
            until=_day(until, "--until"),
            now=datetime.now(),
        )
    except (*USER_ERRORS, LookupError) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"case": case_id, "new": new})
        return
    out.print(f"{'Opened' if new else 'Added to'} investigation [bold]{case_id}[/]")
