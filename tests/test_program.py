"""The program's administration: the training roster (CSV with bad rows to quarantine,
re-import adds nothing), service providers, the review log with its diffs, corrective
actions, the dashboard, and the board report (figures checked against the database, the
PDF and the HTML written by the command line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from pypdf import PdfReader
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import analysed
from phiwarden.breach.decision import Decision
from phiwarden.cases import actions
from phiwarden.cases.effects import Refused
from phiwarden.cli import app as cli_app
from phiwarden.program import corrective, reviews
from phiwarden.program.board import report
from phiwarden.program.dashboard import dashboard
from phiwarden.program.investigation import decide_breach, determine, open_investigation, submit
from phiwarden.program.providers import import_csv as import_providers
from phiwarden.program.providers import list_providers
from phiwarden.program.settings import load_program
from phiwarden.program.training import import_csv, roster
from phiwarden.store.case_tables import case_files
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table, list_quarantine
from phiwarden.store.setup import Stores

T0 = datetime.now().replace(microsecond=0)
TODAY = T0.date()
YEAR = TODAY.year


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    root = tmp_path_factory.mktemp(f"program-{request.param}")
    with analysed(request.param, root, small_hospital) as stores:
        yield stores


def _members(stores: Stores) -> list[dict[str, object]]:
    w = domain_table("workforce")
    with stores.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(w).order_by(w.c.user_id)).mappings()]


def test_training_roster_imports_and_shows_who_is_overdue(site: Stores, tmp_path: Path) -> None:
    members = _members(site)
    first, second = members[0], members[1]
    csv = tmp_path / "lms.csv"
    csv.write_text(
        "Employee ID,Course,Completion Date\n"
        f"{first['user_id']},privacy,{TODAY - timedelta(days=60)}\n"
        f"{second['user_id']},privacy,{(TODAY - timedelta(days=400)):%m/%d/%Y}\n"
        "nobody,privacy,2026-01-01\n"
        f"{first['user_id']},knitting,2026-01-01\n"
        f"{first['user_id']},privacy,not a date\n"
    )
    settings = load_program(site.settings.hospital_config)
    done = import_csv(site, csv, settings)
    assert (done.loaded, done.quarantined) == (2, 3)
    again = import_csv(site, csv, settings)
    assert (again.loaded, again.already) == (0, 2)
    with site.engine.connect() as conn:
        reasons = {
            q["location"]: q["reason"]
            for q in list_quarantine(conn)
            if q["record_type"] == "training"
        }
    assert "no workforce member 'nobody'" in reasons["line 4"]
    assert "unknown course" in reasons["line 5"] and "not a date" in reasons["line 6"]
    found = roster(site, settings, TODAY)
    late = {(r["user_id"], r["course"]) for r in found["overdue"]}
    assert (first["user_id"], "privacy") not in late  # done two months ago, due in ten
    assert (second["user_id"], "privacy") in late  # done 400 days ago: a year has passed
    assert sum(d["members"] for d in found["departments"]) == found["members"]
    with pytest.raises(ValueError, match="no column"):
        bad = tmp_path / "bad.csv"
        bad.write_text("who,when\nx,2026-01-01\n")
        import_csv(site, bad, settings)


def test_providers_review_log_and_corrective_actions(site: Stores, tmp_path: Path) -> None:
    csv = tmp_path / "vendors.csv"
    csv.write_text(
        "Vendor,Service,PHI,Contract Start,BAA Date,Last Reviewed,Review Months\n"
        f"Mailhouse Inc,Breach letters and printing,yes,2024-01-01,2024-01-05,{TODAY},12\n"
        "Shred Co,Paper destruction,yes,2023-05-01,,2025-01-10,12\n"
        ",missing name,no,,,,\n"
    )
    loaded = import_providers(site, csv)
    assert (loaded.saved, loaded.quarantined) == (2, 1)
    rows = {r["name"]: r for r in list_providers(site, TODAY)}
    mailhouse = rows["Mailhouse Inc"]
    assert mailhouse["issues"] == [] and mailhouse["next_review"] == TODAY + relativedelta(years=1)
    assert any("without a signed BAA" in i for i in rows["Shred Co"]["issues"])
    assert any("review overdue" in i for i in rows["Shred Co"]["issues"])
    # the review log: approve the policy as shipped, change it, approve again: the diff
    reviews.approve(
        site, "sanction_policy", "Board of Directors", TODAY - timedelta(days=300), actor="pat"
    )
    with pytest.raises(reviews.ReviewError, match="already approved"):
        reviews.approve(site, "sanction_policy", "Board", TODAY - timedelta(days=299), actor="pat")
    config = site.settings.hospital_config
    config.mkdir(parents=True, exist_ok=True)
    shipped = (Path(reviews.__file__).parents[1] / "cases" / "sanctions.toml").read_text()
    (config / "sanctions.toml").write_text(
        shipped.replace('version = "1"', 'version = "2"').replace(
            "Written warning in the personnel file", "Written warning and a meeting with the CPO"
        )
    )
    assert [p["subject"] for p in reviews.pending(site) if not p.get("never")] == [
        "sanction_policy"
    ]
    reviews.approve(
        site, "sanction_policy", "Compliance Committee", TODAY - timedelta(days=1), actor="pat"
    )
    with site.engine.connect() as conn:
        entries = reviews.log(conn)
    latest = entries[0]
    assert latest["version"] == "2" and latest["approved_by"] == "Compliance Committee"
    assert '-version = "1"' in latest["diff"] and any(
        "meeting with the CPO" in x for x in latest["diff"]
    )
    (config / "sanctions.toml").write_text("version = 3\n")
    with pytest.raises(reviews.ReviewError, match="cannot approve"):
        reviews.approve(site, "sanction_policy", "Board", TODAY, actor="pat")
    (config / "sanctions.toml").unlink()
    # corrective actions: owner, due date, done, verified by someone else
    case_id, _ = open_investigation(
        site,
        actor="ivy",
        user_id=_members(site)[2]["user_id"],  # type: ignore[arg-type]
        complaint="complaint",
        since=TODAY - timedelta(days=30),
        until=TODAY,
        now=T0,
    )
    action = corrective.add_action(
        site,
        case_id,
        "Call centre asks one more identifier for refills",
        "Call Centre Manager",
        TODAY + timedelta(days=15),
        actor="pat",
        now=T0,
    )
    corrective.mark_done(site, action, "live since 12/10", actor="ccm", now=T0 + timedelta(days=9))
    with pytest.raises(Refused, match="someone else"):
        corrective.verify_action(site, action, "tested", actor="ccm")
    verified = corrective.verify_action(
        site, action, "10 test calls, 3 failed as they should", actor="pat"
    )
    assert verified["status"] == "verified" and verified["verified_by"] == "pat"


def test_board_report_figures_match_the_database(site: Stores, tmp_path: Path) -> None:
    with site.engine.connect() as conn:
        _user, alert_id = conn.execute(
            select(alerts.c.user_id, alerts.c.alert_id)
            .where(alerts.c.status == "new")
            .order_by(alerts.c.score.desc())
        ).first()  # type: ignore[misc]
    case_id, _ = open_investigation(site, actor="ivy", alert_ids=[alert_id], now=T0)
    actions.record_fact(
        site, case_id, "interview", "done", actor="ivy", role="investigator", revision=None, now=T0
    )
    submit(
        site, case_id, "no reason found", actor="ivy", role="investigator", revision=None, now=T0
    )
    determine(
        site,
        case_id,
        "violation",
        "curiosity",
        actor="pat",
        role="privacy_officer",
        revision=None,
        level=2,
        now=T0,
    )
    decide_breach(
        site,
        case_id,
        Decision(outcome="breach", reason="viewed"),
        actor="pat",
        role="privacy_officer",
        revision=None,
        now=T0,
    )
    figures = report(site, YEAR, TODAY)
    start, end = datetime(YEAR, 1, 1), datetime(YEAR + 1, 1, 1)
    with site.engine.connect() as conn:
        flags = conn.execute(
            select(func.count())
            .select_from(red_flags)
            .where(red_flags.c.detected_at >= start, red_flags.c.detected_at < end)
        ).scalar_one()
        opened = conn.execute(
            select(func.count())
            .select_from(case_files)
            .where(case_files.c.opened_at >= start, case_files.c.opened_at < end)
        ).scalar_one()
        raised = conn.execute(
            select(func.count())
            .select_from(alerts)
            .where(alerts.c.created_at >= start, alerts.c.created_at < end)
        ).scalar_one()
    assert figures["flags"]["total"] == flags == sum(t["found"] for t in figures["flags"]["types"])
    assert figures["cases"]["opened"] == opened == sum(figures["cases"]["per_month"]["opened"])
    assert figures["alerts"]["raised"] == raised
    assert figures["investigations"]["violation"] >= 1
    assert any(s["level"] == 2 for s in figures["investigations"]["sanctions"])
    breach = [i for i in figures["incidents"] if i["decision"] == "breach"]
    assert breach and breach[0]["significant"] and breach[0]["people"] > 0
    # the command line writes both files; the PDF reads back with the figures in it
    config = site.settings.hospital_config
    config.mkdir(parents=True, exist_ok=True)
    (config / f"board-report-{YEAR}.toml").write_text(
        'prepared_by = "Pat Privacy, Privacy Officer"\n'
        'recommended_changes = "Require a second identifier at every call-centre request."\n'
    )
    runner = CliRunner()
    env = {
        "PHIWARDEN_DATA_DIR": str(site.settings.data_dir),
        "PHIWARDEN_DATABASE_URL": site.settings.database_url,
    }
    result = runner.invoke(
        cli_app,
        ["program", "report", "--year", str(YEAR), "--out", str(tmp_path), "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    paths = json.loads(result.output)
    text = "".join(page.extract_text() for page in PdfReader(paths["pdf"]).pages)
    assert f"Report to the board, {YEAR}" in text and "Require a second identifier" in text
    assert breach[0]["incident"] in text
    html = Path(paths["html"]).read_text()
    assert html.count("<svg") == 3 and "Pat Privacy" in html and "not written yet" in html
    listed = runner.invoke(cli_app, ["cases", "list", "--type", "investigation", "--json"], env=env)
    assert listed.exit_code == 0 and case_id in {
        c["id"] for c in json.loads(listed.output)["cases"]
    }
    bad = runner.invoke(
        cli_app, ["program", "approve", "nothing", "--by", "x", "--on", "2026-01-01"], env=env
    )
    assert bad.exit_code == 1 and "unknown subject" in bad.output
    board = dashboard(site, T0 + timedelta(days=4))
    assert board["open_cases"]["total"] >= 1 and "investigation" in board["open_cases"]["types"]
    assert any(i["incident"] == breach[0]["incident"] for i in board["incidents"])
