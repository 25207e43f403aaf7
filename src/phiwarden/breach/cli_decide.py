"""``phiwarden breach decide|obligations|done|hhs``: the breach decision, what the law
requires by when, the proof that each obligation was met, and the report to HHS."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from phiwarden.breach.cli import breach_app
from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import parse_day as _day
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail


def _incident(stores: Any, incident_id: str) -> dict[str, Any]:
    from phiwarden.breach.incident import get_incident

    with stores.engine.connect() as conn:
        found = get_incident(conn, incident_id)
    if found is None:
        fail(f"no incident {incident_id}: 'phiwarden breach list' shows the incident numbers")
    return found


def _factors(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text()
        return json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        fail(f"cannot read the factors file {path}: {_one_line(exc)}")


@breach_app.command("decide")
def breach_decide(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    outcome: Annotated[str, typer.Option(help="breach | not-breach | excluded")],
    reason: Annotated[str, typer.Option(help="Why, in a sentence or two.")],
    exclusion: Annotated[
        str | None,
        typer.Option(
            help="encryption | workforce_good_faith | inadvertent_internal | could_not_retain"
        ),
    ] = None,
    factors: Annotated[
        Path | None,
        typer.Option(help="TOML or JSON: [assessment] (the four factors) and [[groups]]."),
    ] = None,
    reviewer: Annotated[str, typer.Option("--as", help="Who signs the decision.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Record whether the incident is a reportable breach (45 CFR 164.402), without a
    prompt; the pages and the API do the same with a form."""
    from pydantic import ValidationError

    from phiwarden.breach.decision import Decision, decide
    from phiwarden.cases.effects import Refused

    stores = _stores()
    _incident(stores, incident_id)
    extra = _factors(factors)
    try:
        decision = Decision(outcome=outcome, reason=reason, exclusion=exclusion, **extra)
    except ValidationError as exc:
        fail(" ".join(str(exc).split())[:400])
    try:
        record = decide(stores, incident_id, decision, actor=reviewer, role="privacy_officer")
    except (*USER_ERRORS, Refused, LookupError) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"incident": incident_id, "decision": record})
        return
    out.print(f"{incident_id}: {record['outcome']} ({record['reason']})", highlight=False)
    for warning in record["warnings"]:
        out.print(f"  note: {warning}", highlight=False)


@breach_app.command("obligations")
def breach_obligations(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    today: Annotated[str | None, typer.Option(help="Judge overdue as of (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What HIPAA and each state require for a decided incident, by when."""
    from phiwarden.breach.hhs import hospital
    from phiwarden.breach.obligations import as_json as rows_of
    from phiwarden.breach.obligations import compute, residence_summary

    stores = _stores()
    incident = _incident(stores, incident_id)
    on = _day(today, "--today") or date.today()
    try:
        with stores.engine.connect() as conn:
            items, people = compute(
                conn, incident, config=stores.settings.hospital_config, today=on
            )
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    owners = hospital(stores.settings.hospital_config).get("owners")
    rows = rows_of(items, on, incident["case"]["details"].get("obligations_done"), owners)
    if as_json:
        _print_json({"incident": incident_id, "obligations": rows, **residence_summary(people)})
        return
    for r in rows:
        flag = {"overdue": "[bold red]OVERDUE[/]", "done": "[green]done[/]"}.get(r["status"], "")
        out.print(
            f"{r['due']}  {r['kind']:<28} {r['jurisdiction']:<9} {r['people']:>7,}  {flag} "
            f"{r['title']} [dim]({r['cite'][:60]})[/dim]"
        )
    summary = residence_summary(people)
    out.print(
        f"{people.total:,} to notify; unknown or foreign residence "
        f"{summary['unknown_residence']:,}; not notified (decided apart) "
        f"{summary['not_notified']:,}",
        highlight=False,
    )


@breach_app.command("done")
def breach_done(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    obligation: Annotated[
        str, typer.Argument(help="KIND:JURISDICTION, e.g. hhs:US, attorney_general:TX")
    ],
    note: Annotated[str, typer.Option(help="What proves it (date sent, confirmation number).")],
    reviewer: Annotated[str, typer.Option("--as", help="Who records it.")] = "cli",
) -> None:
    """Record that an obligation was met, with its proof (164.414(b))."""
    from phiwarden.breach.proof import mark_done
    from phiwarden.cases.effects import Refused

    stores = _stores()
    _incident(stores, incident_id)
    try:
        mark_done(stores, incident_id, obligation, actor=reviewer, note=note)
    except (*USER_ERRORS, Refused) as exc:
        fail(_one_line(exc))
    out.print(f"{incident_id}: {obligation} done", highlight=False)


@breach_app.command("hhs")
def breach_hhs(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write it as CSV.")] = None,
    pdf_out: Annotated[
        Path | None, typer.Option("--pdf", help="Also write a printable summary (PDF).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The report to the Secretary of HHS, every field of the OCR portal's form."""
    from phiwarden.breach.hhs import as_csv, as_pdf, report

    stores = _stores()
    incident = _incident(stores, incident_id)
    try:
        with stores.engine.connect() as conn:
            fields = report(conn, incident, stores.settings.hospital_config)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if csv_out:
        csv_out.write_text(as_csv(fields))
    if pdf_out:
        pdf_out.write_bytes(as_pdf(fields))
    if as_json:
        _print_json(fields)
        return
    for line in as_csv(fields).splitlines()[1:]:
        out.print(line, highlight=False)


@breach_app.command("letters")
def breach_letters(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the PDFs and mailing.csv.")],
    language: Annotated[str, typer.Option(help="en | es")] = "en",
    workers: Annotated[int, typer.Option(help="Processes rendering PDFs.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One PDF letter per person to notify, and the mailing list with the credit-monitoring
    enrolment codes (164.404(c) content, the state's items, next-of-kin and guardian
    variants)."""
    from phiwarden.breach.hhs import hospital
    from phiwarden.breach.letters import prepare
    from phiwarden.breach.mailing import record_letters, write, write_remail

    stores = _stores()
    incident = _incident(stores, incident_id)
    config = stores.settings.hospital_config
    try:
        with stores.engine.connect() as conn:
            batch = prepare(conn, incident, stores.protector, config=config, language=language)
        done = write(batch, out_dir, hospital(config)["covered_entity"], date.today(), workers)
        record_letters(stores.engine, incident_id, batch)
        done["remail"] = write_remail(stores.engine, incident_id, out_dir)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json({"incident": incident_id, **done})
        return
    out.print(
        f"{done['letters']:,} letter(s) in {out_dir / 'letters'}; {done['mailing']:,} to mail "
        f"({done['credit_monitoring']:,} with credit monitoring), {done['insufficient']:,} without "
        f"a usable address, {done['duplicates_removed']:,} duplicate(s) removed; "
        f"{done['remail']:,} to mail again at a corrected address (remail.csv)",
        highlight=False,
    )


@breach_app.command("notices")
def breach_notices(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the drafts.")],
) -> None:
    """Draft the media, attorney-general, consumer-reporting-agency and web-posting notices
    the incident's obligations call for (Markdown, to edit before sending)."""
    from phiwarden.breach.notices import draft

    stores = _stores()
    incident = _incident(stores, incident_id)
    try:
        with stores.engine.connect() as conn:
            written = draft(conn, incident, out_dir, config=stores.settings.hospital_config)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    for path in written:
        out.print(str(path), highlight=False)
    out.print(f"{len(written)} notice(s) drafted in {out_dir}", highlight=False)


@breach_app.command("log")
def breach_log(
    year: Annotated[int, typer.Option(help="The calendar year of discovery.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write it as CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The annual log of breaches affecting fewer than 500 people, for HHS (164.408(c))."""
    import csv

    from phiwarden.breach.hhs import annual_log

    stores = _stores()
    with stores.engine.connect() as conn:
        rows = annual_log(conn, year, stores.settings.hospital_config)
    if csv_out:
        columns = (
            "incident",
            "discovery_date",
            "breach_start_date",
            "breach_end_date",
            "individuals_affected",
            "type_of_breach",
            "location_of_breached_information",
            "brief_description",
            "safeguards_in_place_prior",
            "actions_taken",
        )
        with csv_out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for r in rows:
                writer.writerow([r.get(c) for c in columns])
    if as_json:
        from datetime import timedelta

        from phiwarden.breach.law import hipaa_rule

        days = int(
            hipaa_rule(stores.settings.hospital_config).hhs["annual_log_days_after_year_end"]
        )
        due = date(year, 12, 31) + timedelta(days=days)
        _print_json({"year": year, "due": due.isoformat(), "breaches": rows})
        return
    for r in rows:
        out.print(
            f"{r['incident']}  discovered {r['discovery_date']}  {r['individuals_affected']:>4} "
            f"people  {r['type_of_breach']} / {r['location_of_breached_information']}",
            highlight=False,
        )
    out.print(f"{len(rows)} breach(es) of fewer than 500 people in {year}", highlight=False)


@breach_app.command("delay")
def breach_delay(
    incident_id: Annotated[str, typer.Argument(help="The incident number.")],
    written_until: Annotated[
        str | None, typer.Option(help="A written statement delays notice until (YYYY-MM-DD).")
    ] = None,
    oral_days: Annotated[
        int | None, typer.Option(help="An oral request: days of delay (at most 30 count).")
    ] = None,
    agency: Annotated[str, typer.Option(help="The law-enforcement agency and official.")] = "",
    reviewer: Annotated[str, typer.Option("--as", help="Who records it.")] = "cli",
) -> None:
    """Record a law-enforcement delay of the notices (45 CFR 164.412): deadlines move."""
    from phiwarden.breach.proof import record_delay
    from phiwarden.cases.effects import Refused

    if (written_until is None) == (oral_days is None):
        fail("give either --written-until YYYY-MM-DD or --oral-days N")
    stores = _stores()
    _incident(stores, incident_id)
    try:
        record_delay(
            stores,
            incident_id,
            actor=reviewer,
            agency=agency,
            written_until=_day(written_until, "--written-until"),
            oral_days=oral_days,
        )
    except (*USER_ERRORS, Refused) as exc:
        fail(_one_line(exc))
    out.print(f"{incident_id}: law-enforcement delay recorded", highlight=False)
