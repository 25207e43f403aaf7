"""``phiwarden redflags``: scan, screen one registration, and the fraud watch list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail, progress_bar

redflags_app = typer.Typer(
    help="Red flags of identity theft: scan, screen a registration, the watch list.",
    no_args_is_help=True,
)
watch_app = typer.Typer(help="The fraud watch list of addresses and phones.", no_args_is_help=True)
redflags_app.add_typer(watch_app, name="watch")


@redflags_app.command("scan")
def redflags_scan(
    as_json: Annotated[bool, typer.Option("--json", help="Print the flags as JSON.")] = False,
    top: Annotated[int, typer.Option(help="Flags to print (text output).")] = 20,
) -> None:
    """Run every red-flag detector over registrations and accounts and store the flags."""
    from phiwarden.redflags.report import print_scan
    from phiwarden.redflags.scan import run_scan

    stores = _stores()
    try:
        with progress_bar(not as_json) as progress:
            result = run_scan(stores, progress)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(result.as_json())
        return
    print_scan(out, result, top)


@redflags_app.command("screen")
def redflags_screen(
    file: Annotated[Path, typer.Argument(help="One registration as JSON ('-' for stdin).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Screen one registration: flags, evidence and the action the program prescribes."""
    import sys

    from pydantic import ValidationError

    from phiwarden.redflags.report import print_screen
    from phiwarden.redflags.screen import Registration, screen

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
        reg = Registration.model_validate_json(text)
    except FileNotFoundError:
        fail(f"no such file: {file}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "registration"
        fail(f"{file}: {where}: {first['msg']} (see docs/identity.md#screening)")
    stores = _stores()
    try:
        answer = screen(stores, reg)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(answer)
        return
    print_screen(out, answer)


@watch_app.command("add")
def watch_add(
    kind: Annotated[str, typer.Argument(help="address | phone")],
    value: Annotated[str, typer.Argument(help="'line, city, ST zip' or a phone number")],
    reason: Annotated[str, typer.Option(help="Why it is on the list.")] = "reported fraud",
) -> None:
    """Add an address or phone tied to known fraud."""
    from phiwarden.redflags.watch import add_entry

    stores = _stores()
    try:
        entry = add_entry(stores, kind, value, reason)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"added {entry['watch_id']}: {entry['kind']} {entry['value']}")


@watch_app.command("list")
def watch_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the watch list."""
    from phiwarden.redflags.watch import list_entries

    entries = list_entries(_stores())
    if as_json:
        _print_json({"entries": entries})
        return
    for e in entries:
        out.print(f"{e['watch_id']}  {e['kind']:<7} {e['value']}  ({e['reason']})", highlight=False)


@watch_app.command("remove")
def watch_remove(
    watch_id: Annotated[str, typer.Argument(help="The entry's id, e.g. FW0003.")],
) -> None:
    """Remove an entry from the watch list."""
    from phiwarden.redflags.watch import remove_entry

    try:
        remove_entry(_stores(), watch_id)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"removed {watch_id}")
