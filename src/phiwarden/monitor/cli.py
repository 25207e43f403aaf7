"""The ``phiwarden monitor`` command group: review accesses, list a user's patients."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail, progress_bar

if TYPE_CHECKING:  # the monitor itself is imported when the command runs (start-up stays fast)
    from phiwarden.monitor.run import MonitorResult
    from phiwarden.store.setup import Stores

monitor_app = typer.Typer(
    help="Access monitoring: explain accesses, flag snooping, list affected patients.",
    invoke_without_command=True,
)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date: use YYYY-MM-DD")


@monitor_app.callback()
def monitor(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD) to review.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD) to review.")] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb | spark")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print alerts and stats as JSON.")
    ] = False,
    top: Annotated[int, typer.Option(help="Alerts to print (text output).")] = 20,
) -> None:
    """Review new days of accesses: explain them, run the detectors, store scored alerts.

    Without --since, starts the day after the last run's window (incremental).
    """
    if ctx.invoked_subcommand is not None:
        return
    from phiwarden.monitor import run_monitor

    stores = _stores()
    first, last = _day(since, "--since"), _day(until, "--until")
    try:
        with progress_bar(not as_json) as progress:
            result = run_monitor(
                stores,
                first,
                last,
                engine=engine,
                progress=lambda _stage, done, total: progress("monitoring", done, total),
            )
    except (*USER_ERRORS, ImportError, RuntimeError) as exc:
        fail(_one_line(exc))
    if not result.stats.get("accesses") and not _all_reviewed(result, stores):
        where = f" from {first or '(start)'} to {last or '(end)'}" if first or last else ""
        fail(
            f"no accesses to review{where}: the event lake holds none there; ingest an "
            "access log first (phiwarden ingest PATH), then run monitor again"
        )
    if as_json:
        _print_json(result.as_json())
        return
    from phiwarden.monitor.report import print_result

    print_result(out, result, top)


def _all_reviewed(result: MonitorResult, stores: Stores) -> bool:
    """True when the lake holds accesses and earlier runs reviewed every day of them."""
    from phiwarden.lake.reader import lake_stats

    return result.window is None and lake_stats(stores.settings.lake_dir)["rows"] > 0


@monitor_app.command("population")
def monitor_population(
    user: Annotated[str, typer.Option(help="The workforce user_id.")],
    since: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    until: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the list to this CSV file.")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb | spark")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Every patient a user accessed in a window (explained or not): who to notify."""
    from phiwarden.monitor import population
    from phiwarden.monitor.population import write_csv

    stores = _stores()
    first, last = _day(since, "--since"), _day(until, "--until")
    assert first is not None and last is not None
    try:
        rows = population(stores, user, first, last, engine=engine)
        if csv_file is not None:
            write_csv(rows, csv_file)
    except (*USER_ERRORS, ImportError, RuntimeError, OSError) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"user_id": user, "since": since, "until": until, "patients": rows})
        return
    where = f"; written to {csv_file}" if csv_file else ""
    accesses = sum(int(r["accesses"]) for r in rows)
    out.print(
        f"{user} accessed {len(rows):,} patient(s) ({accesses:,} accesses) "
        f"from {first} to {last}{where}"
    )
    if csv_file is None:
        for r in rows[:50]:
            out.print(
                f"{r['mrn'] or '?':<12}{r['first_access']!s:<28}{r['last_access']!s:<28}"
                f"{r['actions']}",
                highlight=False,
            )
        if len(rows) > 50:
            out.print(f"... {len(rows) - 50:,} more: use --csv FILE for the whole list")


@monitor_app.command("rollup")
def monitor_rollup(
    since: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD).")] = None,
) -> None:
    """Build the lake's daily openings where a day has none or its events changed.

    Ingest does this for the days it writes and the tick for a receiver's last week; a
    day without them is grouped from its events on every run (same alerts, slower).
    """
    from phiwarden.lake.layout import list_days
    from phiwarden.lake.openings import refresh_openings

    lake = _stores().settings.lake_dir
    first, last = _day(since, "--since"), _day(until, "--until")
    days = [
        d for d in list_days(lake) if (first is None or d >= first) and (last is None or d <= last)
    ]
    if not days:
        where = f" from {first or '(start)'} to {last or '(end)'}" if first or last else ""
        out.print(f"the event lake holds no days{where}: nothing to build")
        return
    with progress_bar(True) as progress:
        built: list[date] = []
        for i, day in enumerate(days):
            progress("building openings", i, len(days))
            built += refresh_openings(lake, [day])
        progress("building openings", len(days), len(days))
    out.print(f"built the openings of {len(built):,} day(s); {len(days) - len(built):,} were fresh")
