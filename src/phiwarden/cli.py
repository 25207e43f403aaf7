"""The ``phiwarden`` command line: one sub-command per area, Rich progress on long work.

Every command exits non-zero with a one-line error on bad input; ``--json`` prints
machine-readable results to stdout and nothing else there.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from phiwarden.breach.cli import breach_app
from phiwarden.cases.cli import cases_app
from phiwarden.cli_common import USER_ERRORS, State, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail, progress_bar
from phiwarden.monitor.cli import monitor_app
from phiwarden.program.cli import program_app
from phiwarden.redflags.cli import redflags_app
from phiwarden.store.setup import initialise
from phiwarden.synth.spec import FORMATS as SYNTH_FORMATS
from phiwarden.tick import cases_tick
from phiwarden.web.cli import audit_app, serve, users_app

app = typer.Typer(
    name="phiwarden",
    help="Protect patients from medical identity theft and privacy breaches.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the stores live (env PHIWARDEN_DATA_DIR).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Operational store URL (env PHIWARDEN_DATABASE_URL)."),
    ] = None,
) -> None:
    """phiwarden: access monitoring, identity red flags, breach response and casework."""
    State.data_dir = data_dir
    State.database_url = database_url


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


#: The dialects ``synth`` writes (docs/synthetic-hospital.md).
DIALECTS = ("phiwarden", "standard", "epic-like")


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
    dialect: Annotated[
        str,
        typer.Option(
            help="phiwarden (its own codes) | standard (FHIR with only standard terminology "
            "and a hospital's own codes) | epic-like (an Epic-style access log and HL7 v2 "
            "for the rest, in <out>/epic-like)."
        ),
    ] = "phiwarden",
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
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
        with progress_bar(not as_json) as progress:
            result = generate(out_dir, spec, progress=progress)
        if dialect == "standard" and (out_dir / "fhir").is_dir():
            from phiwarden.synth.dialect_standard import rewrite_standard

            rewrite_standard(out_dir / "fhir", seed)
        if dialect == "epic-like":
            if not (out_dir / "canonical").is_dir():
                raise ValueError(
                    "--dialect epic-like is written from the canonical output: "
                    "include canonical in --formats"
                )
            from phiwarden.synth.dialect_epic import write_epic_like

            write_epic_like(out_dir / "canonical", out_dir)
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
        typer.Option(
            help="Mapping file (TOML): the hospital's own codes ([roles], [department_kinds], "
            "...; see docs/mapping.md), or an access-log column layout ([columns]). "
            "Without it, <data dir>/codes.toml is used when present."
        ),
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
                codes=_default_codes(stores.settings.data_dir),
                progress=progress,
            )
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    if as_json:
        _print_json(report.to_json())
        return
    from phiwarden.ingest.report import print_report
    from phiwarden.monitor.readiness import print_readiness, refresh

    print_report(out, report)
    print_readiness(out, refresh(stores))


def _default_codes(data_dir: Path) -> Path | None:
    """The data directory's code mapping, when the hospital keeps one there."""
    path = data_dir / "codes.toml"
    return path if path.is_file() else None


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the stores hold: records per type, lake size, quarantine."""
    from phiwarden.demo import store_summary
    from phiwarden.monitor.readiness import print_readiness, refresh

    stores = _stores()
    summary = store_summary(stores)
    ready = refresh(stores)
    if as_json:
        _print_json({**summary, "readiness": ready.as_json()})
        return
    from phiwarden.demo import print_store_summary

    print_store_summary(out, summary)
    print_readiness(out, ready)


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
        from phiwarden.web.cli import serve_stores

        name, password = demo_sign_in(stores)
        out.print(
            f"serving the pages on http://{host}:{port}/ — sign in as [bold]{name}[/] with "
            f"password [bold]{password}[/] (privacy officer; synthetic data only). Ctrl-C stops.",
            highlight=False,
        )
        serve_stores(stores, host, port)


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


app.add_typer(monitor_app, name="monitor")
app.add_typer(redflags_app, name="redflags")
cases_app.command("tick")(cases_tick)
app.add_typer(cases_app, name="cases")
app.add_typer(breach_app, name="breach")
app.add_typer(program_app, name="program")
app.add_typer(users_app, name="users")
app.command()(serve)
app.add_typer(audit_app, name="audit")

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


if __name__ == "__main__":
    app()
