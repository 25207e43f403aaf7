"""The demo's privacy program: the synthetic hospital's training roster and service
providers are imported, the controlled-substance snooper of the ground truth is taken
through an investigation (seed 000: sanction, breach decision opening an incident with
everyone the member opened, referral, corrective actions), the program documents are
approved, and the year's board report is written."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from phiwarden.store.setup import Stores

ACTOR = "demo"
#: the sanction level the demo's privacy officer gives each snooping scenario
LEVELS = {"controlled_substance_panel": 3, "bulk_curiosity": 2, "vip": 2}


def _insider(stores: Stores, truth: dict[str, Any]) -> tuple[str, list[str], str] | None:
    """The ground truth's snooper with the most alerts (the controlled-substance one first)."""
    from phiwarden.store.monitor_tables import alerts

    order = sorted(
        truth.get("snooping") or [],
        key=lambda s: (s.get("scenario") != "controlled_substance_panel", s["user_id"]),
    )
    with stores.engine.connect() as conn:
        for s in order:
            ids = (
                conn.execute(select(alerts.c.alert_id).where(alerts.c.user_id == s["user_id"]))
                .scalars()
                .all()
            )
            if ids:
                return s["user_id"], list(ids), str(s.get("scenario"))
    return None


def _investigate(stores: Stores, console: Console, truth: dict[str, Any], now: datetime) -> None:
    from phiwarden.breach.decision import Decision
    from phiwarden.cases import actions
    from phiwarden.program import corrective
    from phiwarden.program import investigation as pi

    found = _insider(stores, truth)
    if found is None:
        console.print("investigation: no alert on a ground-truth snooper to investigate")
        return
    user, alert_ids, scenario = found
    case_id, opened = pi.open_investigation(
        stores, actor=ACTOR, alert_ids=alert_ids, assignee=ACTOR, now=now
    )
    if not opened:  # a demo run before this one in the same folder worked it already
        console.print(f"investigation {case_id}: {user}, worked by an earlier demo run")
        return
    actions.record_fact(
        stores,
        case_id,
        "interview",
        f"{now:%Y-%m-%d}, with HR present: no work reason given",
        actor=ACTOR,
        role="investigator",
        revision=None,
        now=now,
    )
    pi.submit(
        stores,
        case_id,
        f"Accesses without a work reason ({scenario.replace('_', ' ')})",
        actor=ACTOR,
        role="investigator",
        revision=None,
        now=now,
    )
    level = LEVELS.get(scenario, 1)
    pi.determine(
        stores,
        case_id,
        "violation",
        f"{scenario.replace('_', ' ')}: no work reason",
        actor=ACTOR,
        role="privacy_officer",
        revision=None,
        level=level,
        now=now,
    )
    out = pi.decide_breach(
        stores,
        case_id,
        Decision(
            outcome="breach", reason="Records viewed without a need to know; the presumption stands"
        ),
        actor=ACTOR,
        role="privacy_officer",
        revision=None,
        now=now,
    )
    pi.refer(
        stores,
        case_id,
        "law_enforcement",
        now.date(),
        "local police, report filed",
        actor=ACTOR,
        role="privacy_officer",
        revision=None,
        now=now,
    )
    for title, owner in (
        (
            "Call centre requires an additional identifier for prescription refills",
            "Call Centre Manager",
        ),
        ("Access monitoring: focused-prescriber alerts reviewed weekly", "Privacy Officer"),
    ):
        corrective.add_action(
            stores, case_id, title, owner, now.date() + timedelta(days=30), actor=ACTOR, now=now
        )
    console.print(
        f"investigation {case_id}: {user} ({scenario.replace('_', ' ')}), "
        f"{len(alert_ids)} alert(s), "
        f"violation level {level}; breach: incident {out['incident']} with everyone {user} opened; "
        "referred to law enforcement; 2 corrective actions"
    )


def run_program(stores: Stores, console: Console, synth_dir: Path, truth: dict[str, Any]) -> Path:
    """The demo's program steps; the board report's PDF path."""
    from phiwarden.program import providers, reviews, training
    from phiwarden.program.board_output import write_report
    from phiwarden.program.settings import load_program

    now = datetime.now().replace(microsecond=0)
    settings = load_program(stores.settings.hospital_config)
    if (synth_dir / "program" / "training.csv").is_file():
        done = training.import_csv(stores, synth_dir / "program" / "training.csv", settings, now)
        vendors = providers.import_csv(stores, synth_dir / "program" / "service_providers.csv", now)
        console.print(
            f"program: {done.loaded:,} training completion(s) ({done.quarantined} quarantined), "
            f"{vendors.saved} service provider(s)"
        )
    _investigate(stores, console, truth, now)
    for subject in reviews.subjects(stores.settings.hospital_config):
        with suppress(reviews.ReviewError):  # approved by an earlier demo on this data
            reviews.approve(
                stores,
                subject,
                "Board of Directors",
                now.date(),
                actor=ACTOR,
                note="the program as shipped",
            )
    pdf, html, figures = write_report(
        stores, now.year, stores.settings.data_dir / "reports", date.today()
    )
    console.print(
        f"board report {now.year}: {pdf} and {html} "
        f"({figures['training']['current']} of {figures['training']['members']} members "
        "current on training)"
    )
    return pdf
