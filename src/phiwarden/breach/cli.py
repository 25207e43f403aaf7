"""``phiwarden breach``: record an incident, list and show incidents, scan sources for the
affected people, list them, and record reviewers' decisions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from phiwarden.breach.categories import LOCATIONS, TYPES
from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import parse_day as _day
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail

breach_app = typer.Typer(help="Breach incidents and their scoping.", no_args_is_help=True)


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


def _scope_json(stores: Any, incident_id: str) -> dict[str, Any]:
    from phiwarden.breach.scope import scope

    with stores.engine.connect() as conn:
        return scope(conn, incident_id)


def _print_scope(found: dict[str, Any]) -> None:
    people = found["people"]
    with_ssn = sum(1 for p in people if "ssn" in p["elements"])
    out.print(
        f"{found['incident']}: {len(people):,} patient(s) affected, {with_ssn:,} with an SSN; "
        f"{len(found['unlinked']):,} unlinked; {len(found['unscannable']):,} item(s) unscannable",
        highlight=False,
    )
    for p in people[:20]:
        out.print(
            f"  {p['mrn'] or '':<12} {p['name'][:30]:<30} {', '.join(p['elements'])}",
            highlight=False,
        )
    if len(people) > 20:
        out.print(
            f"  ... and {len(people) - 20:,} more ('breach people {found['incident']} --json')"
        )
    for u in found["unlinked"][:10]:
        out.print(f"  unlinked: {u['name']}: {', '.join(u['elements'])}", highlight=False)
    for item in found["unscannable"][:10]:
        out.print(f"  unscannable: {item['where']}: {item['reason']}", highlight=False)


@breach_app.command("scan")
def breach_scan(
    incident_id: Annotated[str, typer.Argument(help="The incident number, e.g. BR-2026-00001.")],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Mailboxes (mbox, PST), .eml/.msg files, folders or ZIPs."),
    ] = None,
    engine: Annotated[str, typer.Option(help="embedded (process pool) | spark")] = "embedded",
    workers: Annotated[int | None, typer.Option(help="Processes (default: both cores).")] = None,
    mrn_pattern: Annotated[
        str | None, typer.Option(help="The hospital's MRN as a regular expression.")
    ] = None,
    recognizers: Annotated[
        str, typer.Option(help="fast (default) | presidio (the same recognizers in Presidio)")
    ] = "fast",
    population: Annotated[
        str | None, typer.Option(help="Add every patient this workforce user opened.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day for --population.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day for --population.")] = None,
    elements: Annotated[
        str, typer.Option(help="What the record showed, for --population (comma-separated).")
    ] = "name,dob,mrn,address,phone,insurance,clinical",
    people_list: Annotated[
        Path | None, typer.Option("--list", help="A business associate's CSV of people.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Find the affected people: scan mailboxes and files, add a user's monitoring
    population or a business associate's list; resumes an interrupted scan."""
    from phiwarden.breach.lists import add_list, add_population
    from phiwarden.breach.scan import ScanStats, scan_paths, source_size
    from phiwarden.console import progress_bar

    if not paths and not population and not people_list:
        fail("give mailbox or file paths, --population USER, or --list FILE.csv")
    if population and not (since and until):
        fail("--population needs --since and --until (YYYY-MM-DD)")
    pattern = mrn_pattern or os.environ.get("PHIWARDEN_MRN_PATTERN") or None
    stores = _stores()
    total = ScanStats()
    try:
        if paths:
            size = sum(source_size(p) for p in paths if p.exists())
            with progress_bar(not as_json) as bar:
                done = 0

                def advance(n: int) -> None:
                    nonlocal done
                    done += n
                    bar("scanning (bytes)", done, size)

                total = scan_paths(
                    stores,
                    incident_id,
                    list(paths),
                    actor="cli",
                    engine=engine,
                    workers=workers,
                    mrn_pattern=pattern,
                    recognizer=recognizers,
                    progress=advance,
                )
        if population:
            first, last = _day(since, "--since"), _day(until, "--until")
            assert first and last
            chosen = tuple(e.strip() for e in elements.split(",") if e.strip())
            add_population(
                stores, incident_id, population, first, last, actor="cli", elements=chosen
            )
        if people_list:
            add_list(stores, incident_id, people_list, actor="cli", mrn_pattern=pattern)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    found = _scope_json(stores, incident_id)
    if as_json:
        _print_json({**found, "stats": total.as_json()})
        return
    s = total.as_json()
    out.print(
        f"read {s['messages']:,} message(s), {s['attachments']:,} attachment(s), "
        f"{s['bytes'] / 1e6:,.1f} MB in {s['seconds']:.1f} s"
        + (f" ({s['skipped']:,} unit(s) already scanned)" if s["skipped"] else ""),
        highlight=False,
    )
    _print_scope(found)


@breach_app.command("people")
def breach_people(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the list as CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The reviewed list of affected people (rejected ones left out)."""
    from phiwarden.breach.scan import require_incident

    stores = _stores()
    try:
        require_incident(stores, incident_id)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    found = _scope_json(stores, incident_id)
    if csv_out:
        import csv

        with csv_out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["patient_id", "mrn", "name", "elements", "first_seen", "last_seen"])
            for p in found["people"]:
                writer.writerow(
                    [
                        p["patient_id"],
                        p["mrn"],
                        p["name"],
                        ";".join(p["elements"]),
                        p["first_seen"],
                        p["last_seen"],
                    ]
                )
            for u in found["unlinked"]:
                writer.writerow(
                    ["", "", u["name"], ";".join(u["elements"]), u["first_seen"], u["last_seen"]]
                )
    if as_json:
        _print_json(found)
        return
    _print_scope(found)


@breach_app.command("review")
def breach_review(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    person: Annotated[str | None, typer.Option(help="A patient id or an unlinked key.")] = None,
    finding: Annotated[str | None, typer.Option(help="A finding id.")] = None,
    reject: Annotated[bool, typer.Option("--reject", help="Reject (default: confirm).")] = False,
    reason: Annotated[str, typer.Option(help="Why (required to reject).")] = "",
    reviewer: Annotated[str, typer.Option("--as", help="Who reviews.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Confirm or reject a person or a finding of an incident's scope."""
    from phiwarden.breach.scope import review
    from phiwarden.cases.effects import Refused

    if bool(person) == bool(finding):
        fail("give either --person or --finding")
    target = "person" if person else "finding"
    try:
        done = review(
            _stores(),
            incident_id,
            target,  # type: ignore[arg-type]
            str(person or finding),
            "rejected" if reject else "confirmed",
            reviewer=reviewer,
            reason=reason,
        )
    except (*USER_ERRORS, Refused, LookupError) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(done)
        return
    out.print(f"{done['decision']} {target} {done['ref']}", highlight=False)


# the decision, obligations and HHS report commands register themselves on breach_app
from phiwarden.breach import cli_decide as _cli_decide  # noqa: E402,F401
