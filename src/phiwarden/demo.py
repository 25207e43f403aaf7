"""``phiwarden demo``: a synthetic hospital end to end on the embedded stores.

Synthesise, initialise the stores, ingest, run every analysis that exists, print a
summary. Analyses plug in through :data:`ANALYSES` as they are built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from phiwarden.config import Settings
from phiwarden.console import progress_bar
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.reader import lake_stats
from phiwarden.monitor import queue as review_queue
from phiwarden.monitor.readiness import print_readiness
from phiwarden.monitor.readiness import refresh as refresh_readiness
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores, initialise


def _monitor(stores: Stores, console: Console) -> None:
    from phiwarden.monitor import run_monitor
    from phiwarden.monitor.report import print_result

    with progress_bar() as progress:
        result = run_monitor(
            stores, progress=lambda _s, done, total: progress("monitoring", done, total)
        )
    print_result(console, result, top=10)


def _link(stores: Stores, console: Console) -> None:
    from phiwarden.identity.report import print_link
    from phiwarden.identity.run import link_patient_index

    with progress_bar() as progress:
        result = link_patient_index(stores, progress=lambda stage: progress(stage, 1, 0))
    print_link(console, result, top=5, stored=True)


def _redflags(stores: Stores, console: Console) -> None:
    from phiwarden.redflags.report import print_scan
    from phiwarden.redflags.scan import run_scan

    with progress_bar() as progress:
        result = run_scan(stores, progress)
    print_scan(console, result, top=10)


#: (title, function of the stores printing its findings) run by the demo in order.
ANALYSES: list[tuple[str, Callable[[Stores, Console], None]]] = [
    ("access monitoring", _monitor),
    ("identity linkage", _link),
    ("identity-theft red flags", _redflags),
]


def store_summary(stores: Stores) -> dict[str, Any]:
    """Aggregate counts of the stores (no PHI)."""
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
        quarantined = repo.count_quarantine(conn)
    return {
        "records": counts,
        "quarantined": quarantined,
        "lake": lake_stats(stores.settings.lake_dir),
    }


def print_store_summary(console: Console, summary: dict[str, Any]) -> None:
    """Print the store summary as a table."""
    table = Table(title="operational store", show_header=True)
    table.add_column("record type")
    table.add_column("rows", justify="right")
    for name, n in summary["records"].items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    lake = summary["lake"]
    console.print(
        f"event lake: {lake['rows']:,} access events, {lake['days']} days "
        f"({lake['first_day']} .. {lake['last_day']}), {lake['files']} files"
    )
    console.print(f"quarantine: {summary['quarantined']:,} record(s)")


def _synthesise(out_dir: Path, size: str, console: Console) -> dict[str, Any]:
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    spec = SynthSpec.size(size)
    manifest = out_dir / "manifest.json"
    truth = out_dir / "ground_truth.json"
    if manifest.exists() and truth.exists():
        kept = json.loads(manifest.read_text())
        if (
            kept.get("spec", {}).get("patients") == spec.patients
            and kept.get("spec", {}).get("seed") == spec.seed
        ):
            console.print(f"synthetic hospital: reusing {out_dir}")
            return dict(json.loads(truth.read_text()))
    with progress_bar() as progress:
        result = generate(out_dir, spec, progress=progress)
    events = result.counts.get("access_events", 0)
    console.print(
        f"synthetic hospital: {result.counts.get('patients', 0):,} patients, "
        f"{events:,} access events in {result.seconds:.1f} s -> {out_dir}"
    )
    return result.ground_truth


def run_demo(settings: Settings, size: str, console: Console) -> Stores:
    """Run the whole pipeline on the embedded stores and print what it found."""
    started = time.perf_counter()
    out_dir = settings.data_dir / f"synth-{size}"
    truth = _synthesise(out_dir, size, console)
    stores, _ = initialise(settings)
    with progress_bar() as progress:
        report = run_ingest(
            [out_dir / "canonical"],
            engine=stores.engine,
            protector=stores.protector,
            lake_dir=settings.lake_dir,
            progress=progress,
        )
    console.print(
        f"ingest: {sum(report.loaded.values()):,} records loaded, "
        f"{report.duplicates_skipped:,} already present, {report.quarantined:,} quarantined"
    )
    print_store_summary(console, store_summary(stores))
    print_readiness(console, refresh_readiness(stores))
    for title, analysis in ANALYSES:
        console.rule(title)
        analysis(stores, console)
    _print_ground_truth(console, truth)
    _print_caught(console, stores, truth)
    console.rule("casework")
    _casework(console, stores, truth)
    console.rule("breach")
    _breach(console, stores, out_dir / "mailbox", truth)
    console.rule("privacy program")
    from phiwarden.demo_program import run_program

    run_program(stores, console, out_dir, truth)
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s")
    return stores


DEMO_USER = "demo"


def _breach(console: Console, stores: Stores, mailbox: Path, truth: dict[str, Any]) -> None:
    """Record the phished-mailbox incident (seed 004), scan the mailbox, and say how many
    people and how many with an SSN were found, against the generator's ground truth."""
    import re
    from datetime import date

    from phiwarden.breach.incident import Incident, list_incidents, open_incident
    from phiwarden.breach.scan import scan_paths
    from phiwarden.breach.scope import scope

    box = mailbox / "compromised.mbox"
    if not box.exists():
        console.print("breach: no phished mailbox in this synthetic hospital")
        return
    readme = (mailbox / "README.txt").read_text()
    days = dict(
        re.findall(r"(first unauthorised sign-in|discovery date\)): (\d{4}-\d{2}-\d{2})", readme)
    )
    title = "Phished staff mailbox (synthetic)"
    with stores.engine.connect() as conn:
        known = [i["incident"] for i in list_incidents(conn) if i["title"] == title]
    incident_id = (
        known[0]
        if known
        else open_incident(
            stores,
            Incident(
                title=title,
                discovered=date.fromisoformat(days["discovery date)"]),
                type="hacking",
                location="email",
                occurred_from=date.fromisoformat(days["first unauthorised sign-in"]),
                occurred_to=date.fromisoformat(days["discovery date)"]),
                description="A billing employee entered their password on a phishing page; "
                "the attacker could read every message in the mailbox.",
            ),
            actor=DEMO_USER,
        )
    )
    with progress_bar() as progress:
        size = box.stat().st_size
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            progress("breach scan (bytes)", done, size)

        stats = scan_paths(stores, incident_id, [box], actor=DEMO_USER, progress=advance)
    with stores.engine.connect() as conn:
        found = scope(conn, incident_id)
    people = found["people"]
    with_ssn = sum(1 for p in people if "ssn" in p["elements"])
    exposed = {str(t["mrn"]) for t in truth.get("mailbox", [])}
    hit = len(exposed & {str(p["mrn"]) for p in people})
    console.print(
        f"breach {incident_id} (phished mailbox, {box.stat().st_size / 1e6:.1f} MB, "
        f"{stats.messages:,} messages scanned in {stats.seconds:.1f} s): "
        f"{len(people):,} people found, {with_ssn:,} with an SSN exposed; "
        f"{len(found['unlinked']):,} unlinked, {len(found['unscannable']):,} unscannable; "
        f"ground truth {len(exposed):,} ({hit:,} found)"
    )
    _notify(console, stores, incident_id)


def _notify(console: Console, stores: Stores, incident_id: str) -> None:
    """Decide the demo incident a breach, print what the law requires by when, and write
    its letters."""
    from datetime import date

    from phiwarden.breach.decision import Decision, decide
    from phiwarden.breach.hhs import hospital
    from phiwarden.breach.incident import get_incident
    from phiwarden.breach.letters import prepare
    from phiwarden.breach.mailing import record_letters, write
    from phiwarden.breach.obligations import compute

    reason = "An unknown attacker could read the mailbox; SSNs and clinical data were in it"
    with stores.engine.connect() as conn:
        incident = get_incident(conn, incident_id)
    assert incident is not None
    if not incident["case"]["details"].get("decision"):
        decide(
            stores,
            incident_id,
            Decision(outcome="breach", reason=reason),
            actor=DEMO_USER,
            role="privacy_officer",
        )
        with stores.engine.connect() as conn:
            incident = get_incident(conn, incident_id)
    assert incident is not None
    config = stores.settings.hospital_config
    with stores.engine.connect() as conn:
        items, _people = compute(conn, incident, config=config)
        batch = prepare(conn, incident, stores.protector, config=config)
    out = stores.settings.data_dir / "letters" / incident_id
    done = write(batch, out, hospital(config)["covered_entity"], date.today())
    record_letters(stores.engine, incident_id, batch)
    shown = ", ".join(f"{o.kind} {o.jurisdiction} by {o.due}" for o in items[:6])
    console.print(
        f"obligations ({len(items)}): {shown}" + (", ..." if len(items) > 6 else ""),
        highlight=False,
    )
    sample = next(iter(sorted((out / "letters").glob("*.pdf"))), None)
    console.print(
        f"letters: {done['letters']:,} PDFs, {done['credit_monitoring']:,} with credit "
        f"monitoring, mailing list {out / 'mailing.csv'}; sample letter {sample}",
        highlight=False,
    )


def _casework(console: Console, stores: Stores, truth: dict[str, Any]) -> None:
    """Take one injected identity theft from its red flag through the Red Flags program's
    procedure: allegation, the victim's documents, substantiation, record separation."""
    from sqlalchemy import select

    from phiwarden.cases import casefile, documents, theft, transition
    from phiwarden.store.redflag_tables import red_flags
    from phiwarden.synth import case_documents

    wanted = [t for t in truth.get("identity_theft", []) if t["scenario"] == "blood_type_conflict"]
    with stores.engine.connect() as conn:
        flag = None
        for t in wanted:
            flag = conn.execute(
                select(red_flags.c.flag_id, red_flags.c.code).where(
                    red_flags.c.registration_id == t["registration_id"]
                )
            ).first()
            if flag:
                break
    if flag is None:
        console.print("casework: no flagged identity theft to take through the procedure")
        return
    opened = theft.from_flag(stores, flag.flag_id, actor=DEMO_USER)
    with stores.engine.connect() as conn:
        case = casefile.get_case(conn, opened.case_id)
    assert case is not None
    if case["state"] == "alleged":
        from phiwarden.store.repositories import domain_table

        p = domain_table("patients")
        victim_id = next(s["ref"] for s in case["subjects"] if s["role"] == "victim")
        with stores.engine.connect() as conn:
            v = conn.execute(select(p).where(p.c.patient_id == victim_id)).mappings().one()
        name, occurred = f"{v['first_name']} {v['last_name']}", case["details"].get("occurred", "")
        rev = case["revision"]
        for kind, content in (
            ("photo_id", case_documents.photo_id(name, v["dob"])),
            ("affidavit", case_documents.affidavit(name, occurred)),
            ("police_report", case_documents.police_report(name, occurred)),
        ):
            rev = documents.upload(
                stores,
                opened.case_id,
                kind,
                f"{kind}.synthetic",
                content,
                actor=DEMO_USER,
                revision=rev,
            )["revision"]
        rev = transition.fire(
            stores,
            opened.case_id,
            "substantiate",
            actor=DEMO_USER,
            role="privacy_officer",
            revision=rev,
        )["revision"]
        transition.fire(
            stores,
            opened.case_id,
            "separate",
            revision=rev,
            inputs={"offender": "unknown"},
            actor=DEMO_USER,
            role="privacy_officer",
        )
    with stores.engine.connect() as conn:
        case = casefile.get_case(conn, opened.case_id)
        open_cases = casefile.list_cases(conn, open_only=True, limit=1)[1]
    assert case is not None
    moved = next((e["summary"] for e in case["history"] if e["kind"] == "separation"), "")
    tasks = [t for t in case["tasks"] if t["status"] == "open"]
    console.print(
        f"identity-theft case {opened.case_id} (from red flag {flag.code}): "
        f"{case['state_title'].lower()}; {len(case['documents'])} documents stamped, "
        f"{len(case['holds'])} billing hold(s), {len(case['adjustments'])} adjustment(s); {moved}; "
        f"{len(tasks)} task(s) waiting for sign-off; {open_cases} open case(s) in the queue"
    )


def demo_sign_in(stores: Stores) -> tuple[str, str]:
    """A privacy-officer account for the demo with a fresh random password (synthetic data
    only): created on the first demo, its password replaced on later ones."""
    import secrets

    from phiwarden.web.users import add_user, list_users, set_password

    password = secrets.token_urlsafe(12)
    if any(u["name"] == DEMO_USER for u in list_users(stores.engine)):
        set_password(stores.engine, DEMO_USER, password)
    else:
        add_user(stores.engine, DEMO_USER, "privacy_officer", password)
    return DEMO_USER, password


def _print_ground_truth(console: Console, truth: dict[str, Any]) -> None:
    snooping = truth.get("snooping", [])
    theft = truth.get("identity_theft", [])
    mailbox = truth.get("mailbox", [])
    scenarios = sorted({s["scenario"] for s in snooping})
    console.print(
        f"injected for evaluation: {len(snooping)} snooping users ({', '.join(scenarios)}), "
        f"{len(theft)} identity-theft registrations, {len(mailbox)} patients in the phished mailbox"
    )


def _print_theft_caught(console: Console, stores: Stores, truth: dict[str, Any]) -> None:
    """Per identity-theft scenario: registrations flagged, and the detector's precision."""
    from phiwarden.redflags.quality import quality, stored_findings

    rows = quality(stored_findings(stores), truth.get("identity_theft", []))
    caught = sum(q.caught for q in rows)
    injected = sum(q.injected for q in rows)
    console.print(
        f"identity-theft registrations flagged: {caught} of {injected} ("
        + ", ".join(f"{q.scenario} {q.caught}/{q.injected}" for q in rows)
        + "); precision per detector "
        + ", ".join(f"{q.detector} {q.precision:.2f}" for q in rows)
    )


def _print_caught(console: Console, stores: Stores, truth: dict[str, Any]) -> None:
    """How many injected snoopers have an alert, per scenario, and the seed case."""

    with stores.engine.connect() as conn:
        alerted = {a["user_id"] for a in review_queue.list_alerts(conn, limit=1_000_000)}
    by: dict[str, list[bool]] = {}
    for case in truth.get("snooping", []):
        by.setdefault(case["scenario"], []).append(case["user_id"] in alerted)
    if not by:
        return
    caught = sum(sum(v) for v in by.values())
    total = sum(len(v) for v in by.values())
    console.print(
        f"snooping users with an alert: {caught} of {total} ("
        + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by.items()))
        + ")"
    )
    _print_theft_caught(console, stores, truth)
    seed = by.get("controlled_substance_panel", [])
    if seed:
        console.print(
            "seed case (call-centre agent on one physician's controlled-substance panel): "
            + ("caught" if all(seed) else "NOT caught")
        )
