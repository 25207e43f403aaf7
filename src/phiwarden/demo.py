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
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s")
    return stores


DEMO_USER = "demo"


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
