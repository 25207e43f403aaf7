"""The ``phiwarden`` command line: one sub-command per area, Rich progress on long work.

Every command exits non-zero with a one-line error on bad input; ``--json`` prints
machine-readable results to stdout and nothing else there.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from phiwarden.config import Settings, load_settings
from phiwarden.console import fail, progress_bar
from phiwarden.store.sensitive import KeyFileError
from phiwarden.store.setup import NotInitialisedError, Stores, initialise, open_stores
from phiwarden.synth.spec import FORMATS as SYNTH_FORMATS

app = typer.Typer(
    name="phiwarden",
    help="Protect patients from medical identity theft and privacy breaches.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()

#: Errors that mean "the user has something to fix", printed as one line.
USER_ERRORS = (ValueError, FileNotFoundError, KeyFileError, NotInitialisedError, OperationalError)


class State:
    """Options given before the sub-command."""

    data_dir: Path | None = None
    database_url: str | None = None

    @classmethod
    def settings(cls) -> Settings:
        """Settings from the global options and the environment."""
        return load_settings(cls.data_dir, cls.database_url)


@app.callback()
def main(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the stores live [env PHIWARDEN_DATA_DIR].")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Operational store URL [env PHIWARDEN_DATABASE_URL]."),
    ] = None,
) -> None:
    """phiwarden: access monitoring, identity red flags, breach response and casework."""
    State.data_dir = data_dir
    State.database_url = database_url


def _stores() -> Stores:
    try:
        return open_stores(State.settings())
    except USER_ERRORS as exc:
        fail(_one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc.orig) if isinstance(exc, OperationalError) and exc.orig else str(exc)
    return " ".join(text.split())


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def init() -> None:
    """Create the key file, the operational database (migrated) and the event lake."""
    settings = State.settings()
    try:
        stores, created = initialise(settings)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    key_note = "created" if created else "kept existing"
    out.print(
        f"key file   {settings.key_file} ({key_note}; back it up: without it SSNs cannot be read)"
    )
    out.print(f"database   {stores.engine.url.render_as_string(hide_password=True)} (migrated)")
    out.print(f"event lake {settings.lake_dir}")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the hospital into.")],
    size: Annotated[str, typer.Option(help="small | medium | large")] = "small",
    patients: Annotated[int | None, typer.Option(help="Override the number of patients.")] = None,
    workforce: Annotated[int | None, typer.Option(help="Override the workforce size.")] = None,
    days: Annotated[int | None, typer.Option(help="Override the days of access activity.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same hospital.")] = 7,
    formats: Annotated[
        str | None,
        typer.Option(help=f"Comma-separated outputs (default all): {','.join(SYNTH_FORMATS)}."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print counts as JSON.")] = False,
) -> None:
    """Write a synthetic hospital with known answers (ground_truth.json) in every input format."""
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    try:
        base = SynthSpec.size(size, seed=seed)
        spec = replace(
            base,
            patients=patients or base.patients,
            workforce=workforce or base.workforce,
            days=days or base.days,
            formats=(
                tuple(f.strip() for f in formats.split(",") if f.strip())
                if formats
                else base.formats
            ),
        )
        with progress_bar(not as_json) as progress:
            result = generate(out_dir, spec, progress=progress)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(
            {"out": str(result.out_dir), "counts": result.counts, "seconds": result.seconds}
        )
        return
    events = result.counts.get("access_events", 0)
    out.print(
        f"wrote {result.out_dir}: {result.counts.get('patients', 0):,} patients, "
        f"{result.counts.get('workforce', 0):,} workforce, {events:,} access events "
        f"in {result.seconds:.1f} s ({events / max(result.seconds, 1e-9):,.0f} events/s)"
    )


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to load.")] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="auto | fhir | hl7v2 | epic | atna | x12 | csv | parquet"),
    ] = "auto",
    mapping: Annotated[
        Path | None,
        typer.Option(help="Column mapping (TOML) for an access-log export of another EHR."),
    ] = None,
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="List rejected records instead of loading.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print counts as JSON.")] = False,
) -> None:
    """Load hospital data; bad records go to quarantine with source, line and reason."""
    from phiwarden.ingest.run import run_ingest
    from phiwarden.store import repositories as repo

    stores = _stores()
    if quarantine:
        with stores.engine.connect() as conn:
            rows = repo.list_quarantine(conn)
        if as_json:
            _print_json(rows)
            return
        for r in rows:
            out.print(
                f"{r['source']}:{r['location']}  {r['record_type']}  {r['reason']}", highlight=False
            )
        out.print(f"{len(rows)} record(s) in quarantine")
        return
    if not paths:
        fail("give at least one file or folder to ingest (or --quarantine to list rejects)")
    try:
        with progress_bar(not as_json) as progress:
            report = run_ingest(
                paths,
                engine=stores.engine,
                protector=stores.protector,
                lake_dir=stores.settings.lake_dir,
                fmt=fmt,
                mapping=mapping,
                progress=progress,
            )
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(report.to_json())
        return
    for name, n in sorted(report.loaded.items()):
        out.print(f"{name:<24}{n:>12,}")
    out.print(
        f"quarantined {report.quarantined:,}; duplicates skipped {report.duplicates_skipped:,}"
    )


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the stores hold: records per type, lake size, quarantine."""
    from phiwarden.demo import store_summary

    summary = store_summary(_stores())
    if as_json:
        _print_json(summary)
        return
    from phiwarden.demo import print_store_summary

    print_store_summary(out, summary)


@app.command()
def demo(
    size: Annotated[str, typer.Option(help="small | medium | large")] = "small",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after the summary.")] = False,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Synthesise a hospital, ingest it, run every analysis, print a summary, then serve."""
    from phiwarden.demo import run_demo

    settings = State.settings()
    try:
        stores = run_demo(settings, size, out)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if not no_serve:
        from phiwarden.demo import demo_sign_in

        name, password = demo_sign_in(stores)
        out.print(
            f"serving the pages on http://{host}:{port}/ — sign in as [bold]{name}[/] with "
            f"password [bold]{password}[/] (privacy officer; synthetic data only). Ctrl-C stops.",
            highlight=False,
        )
        _serve(stores, host, port)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Serve the web UI and API."""
    _serve(_stores(), host, port)


monitor_app = typer.Typer(
    help="Access monitoring: explain accesses, flag snooping, list affected patients.",
    invoke_without_command=True,
)
app.add_typer(monitor_app, name="monitor")


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
    if as_json:
        _print_json(result.as_json())
        return
    from phiwarden.monitor.report import print_result

    print_result(out, result, top)


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


@app.command()
def link(
    input_csv: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Persons CSV (record_id,first_name,last_name,dob,sex,ssn,address,city,state,"
            "zip,phone); without it, the patient index.",
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="duckdb | spark")] = "duckdb",
    as_json: Annotated[bool, typer.Option("--json", help="Print clusters and conflicts.")] = False,
    top: Annotated[int, typer.Option(help="Clusters and conflicts to print (text output).")] = 10,
) -> None:
    """Find one person across records (duplicate clusters) and shared identifiers that
    disagree on the person (conflicts), with Splink."""
    from phiwarden.identity.report import print_link
    from phiwarden.identity.run import link_csv, link_patient_index

    try:
        with progress_bar(not as_json) as progress:

            def say(stage: str) -> None:
                progress(stage, 1, 0)

            if input_csv is not None:
                result = link_csv(input_csv, engine, say)
            else:
                result = link_patient_index(_stores(), engine, say)
    except (*USER_ERRORS, ImportError, RuntimeError) as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(result.to_json())
        return
    print_link(out, result, top, stored=input_csv is None)


redflags_app = typer.Typer(
    help="Red flags of identity theft: scan, screen a registration, the watch list.",
    no_args_is_help=True,
)
app.add_typer(redflags_app, name="redflags")
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


users_app = typer.Typer(help="phiwarden's own users, roles and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="phiwarden's own audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _password() -> str:
    """The password from standard input when piped, else asked twice at the terminal."""
    import sys

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        fail("the passwords differ")
    return str(first)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[
        str,
        typer.Option(help="admin | privacy_officer | investigator | registrar | billing | auditor"),
    ],
) -> None:
    """Add a user; the password is read from standard input or asked for."""
    from phiwarden.web.users import add_user

    stores = _stores()
    try:
        user = add_user(stores.engine, name, role, _password())
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"added {user.name} ({user.role})")


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
    """Print a new API bearer token for a user (shown once; stored only as a hash)."""
    from phiwarden.web.users import issue_token

    try:
        token_id, token = issue_token(_stores().engine, name)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    typer.echo(token)
    typer.echo(f"token id {token_id}: revoke with 'phiwarden users revoke {token_id}'", err=True)


@users_app.command("revoke")
def users_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    from phiwarden.web.users import revoke_token

    try:
        revoke_token(_stores().engine, token_id)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"revoked {token_id}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, their roles and live token ids."""
    from phiwarden.web.users import list_users

    people = list_users(_stores().engine)
    if as_json:
        _print_json({"users": people})
        return
    for p in people:
        state = " (disabled)" if p["disabled"] else ""
        out.print(f"{p['name']:<20} {p['role']:<16} tokens: {', '.join(p['tokens']) or '-'}{state}")


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the audit trail's hash chain: exits 1 naming the first changed or missing entry."""
    from phiwarden.web.audit import verify

    verdict = verify(_stores().engine)
    if as_json:
        _print_json(
            {
                "entries": verdict.entries,
                "ok": verdict.ok,
                "broken_at": verdict.broken_at,
                "reason": verdict.reason,
            }
        )
    elif verdict.ok:
        out.print(f"audit trail intact: {verdict.entries:,} entries")
    if not verdict.ok:
        fail(f"audit trail broken: {verdict.reason}")


listen = typer.Typer(
    help="Receive live feeds: HL7 v2 over MLLP, IHE ATNA syslog.", no_args_is_help=True
)
app.add_typer(listen, name="listen")


@listen.command("hl7")
def listen_hl7(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (MLLP framing); 0 picks a free one.")] = 2575,
) -> None:
    """Receive HL7 v2 ADT over MLLP; ACK each message once stored, NAK it with the reason."""
    from phiwarden.ingest.mllp import run_listener

    stores = _stores()
    try:
        report = run_listener(
            stores,
            host,
            port,
            ready=lambda p: out.print(f"listening for HL7 v2 (MLLP) on {host}:{p}; Ctrl-C stops"),
        )
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    _print_json(report.to_json())


@listen.command("atna")
def listen_atna(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    tcp_port: Annotated[
        int | None, typer.Option(help="Syslog over TCP, octet-counting framing (RFC 6587).")
    ] = None,
    tls_port: Annotated[int | None, typer.Option(help="Syslog over TLS (RFC 5425).")] = None,
    udp_port: Annotated[int | None, typer.Option(help="Syslog over UDP (RFC 5426).")] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS server certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS server private key (PEM).")] = None,
    client_cafile: Annotated[
        Path | None, typer.Option(help="Require client certificates signed by this CA.")
    ] = None,
    flush_seconds: Annotated[
        float, typer.Option(help="How often spooled events are written to the lake.")
    ] = 2.0,
) -> None:
    """Receive IHE ATNA audit messages; each is spooled durably before it is counted."""
    from phiwarden.ingest.atna_server import ReceiverOptions, run_receiver
    from phiwarden.ingest.spool import SpoolBusyError

    stores = _stores()
    try:
        options = ReceiverOptions(
            host=host,
            tcp_port=tcp_port,
            tls_port=tls_port,
            udp_port=udp_port,
            certfile=certfile,
            keyfile=keyfile,
            client_cafile=client_cafile,
            flush_seconds=flush_seconds,
        )
        stats = run_receiver(
            stores,
            options,
            on_ready=lambda ports: out.print(
                "listening for ATNA syslog on "
                + ", ".join(f"{k} {host}:{v}" for k, v in ports.items())
                + "; Ctrl-C stops"
            ),
        )
    except (ValueError, SpoolBusyError, OSError) as exc:
        fail(_one_line(exc))
    _print_json(stats.to_json())


def _serve(stores: Stores, host: str, port: int) -> None:
    import uvicorn

    from phiwarden.web.app import create_app

    out.print(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    # No access log: request paths carry MRNs, and PHI stays out of logs.
    uvicorn.run(create_app(stores), host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    app()
