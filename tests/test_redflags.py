"""Red-flag scan end to end: quality against ground truth, catalogue, no PHI in evidence,
idempotent storage, ``redflags scan --json``, the watch list and one-line CLI errors.

The small session hospital (300 patients, two thefts per identity-theft scenario) is
ingested and scanned once per backend for the tests that only read the scan's findings;
tests that change stored flags or the watch list get their own stores.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from conftest import database_url
from phiwarden.cli import app
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.monitor import run_monitor
from phiwarden.redflags.catalogue import BY_CODE, Detection
from phiwarden.redflags.quality import SCENARIO_DETECTOR, quality
from phiwarden.redflags.scan import ScanResult, run_scan
from phiwarden.redflags.screen import Registration, screen
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores, initialise

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Scanned:
    """Stores holding the ingested small hospital, and the result of one scan of it."""

    stores: Stores
    result: ScanResult


def ingest(stores: Stores, hospital: Path) -> None:
    run_ingest(
        [hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def scanned(
    request: pytest.FixtureRequest,
    small_hospital: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scanned]:
    """The small hospital ingested and scanned once per backend (read-only for tests)."""
    root = tmp_path_factory.mktemp(f"redflags-{request.param}")
    with database_url(request.param, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        try:
            ingest(stores, small_hospital)
            yield Scanned(stores, run_scan(stores))
        finally:
            stores.engine.dispose()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No store location from the environment: each CLI call names its own."""
    for var in ("PHIWARDEN_DATA_DIR", "PHIWARDEN_DATABASE_URL", "PHIWARDEN_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)


def cli(stores: Stores | None, *args: str) -> tuple[int, str, str]:
    """Run ``phiwarden`` against ``stores`` (their data folder and database)."""
    where: list[str] = []
    if stores is not None:
        where = [
            "--data-dir",
            str(stores.settings.data_dir),
            "--database-url",
            stores.settings.database_url,
        ]
    result = CliRunner().invoke(app, [*where, *args])
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, out: str, err: str) -> str:
    """Assert a failed command: non-zero, nothing on stdout, one line on stderr."""
    assert code != 0, (code, out, err)
    assert out == "", out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def plain_ssns(hospital: Path) -> set[str]:
    """Every SSN in the hospital's files, with and without dashes."""
    found: set[str] = set()
    for name, column in (("patients", "ssn"), ("registrations", "presented_ssn")):
        with (hospital / "canonical" / f"{name}.csv").open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row[column]:
                    found |= {row[column], row[column].replace("-", "")}
    return found


def leaked(texts: list[str], ssns: set[str]) -> list[str]:
    """The texts holding any of ``ssns`` as a whole number (not inside a longer id)."""
    pattern = re.compile(
        r"(?<![\dA-Za-z])(" + "|".join(re.escape(s) for s in ssns) + r")(?![\dA-Za-z])"
    )
    return [t for t in texts if pattern.search(t)]


def test_every_scenario_is_caught_with_precision(scanned: Scanned, small_hospital: Path) -> None:
    truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
    assert {t["scenario"] for t in truth} == set(SCENARIO_DETECTOR), "unmeasured scenarios"
    measured = quality(scanned.result.findings, truth)
    table = "; ".join(
        f"{q.scenario}: recall {q.caught}/{q.injected}={q.recall:.2f}, "
        f"precision {q.true_flags}/{q.flags}={q.precision:.2f}"
        for q in measured
    )
    assert all(q.injected == 2 for q in measured), table
    assert all(q.recall >= 0.95 for q in measured), f"recall below 0.95: {table}"
    assert all(q.precision >= 0.9 for q in measured), f"precision below 0.9: {table}"


def test_flags_are_automatic_catalogue_codes_with_evidence_and_no_ssn(
    scanned: Scanned, small_hospital: Path
) -> None:
    findings = scanned.result.findings
    assert findings
    for f in findings:
        assert f.code in BY_CODE, f
        assert BY_CODE[f.code].detection == Detection.AUTOMATIC, f
        assert isinstance(f.evidence, tuple) and f.evidence, f
        assert all(isinstance(e, str) and e.strip() for e in f.evidence), f
    ssns = plain_ssns(small_hospital)
    assert len(ssns) > 500
    texts = [e for f in findings for e in f.evidence]
    assert leaked(texts, ssns) == []
    with scanned.stores.engine.connect() as conn:
        stored = [json.dumps(e) for (e,) in conn.execute(select(red_flags.c.evidence))]
    assert len(stored) == len(findings)
    assert leaked(stored, ssns) == []


@pytest.mark.usefixtures("cli_env")
def test_scan_json_is_only_json_with_the_flag_fields(
    scanned: Scanned, small_hospital: Path
) -> None:
    code, out, _ = cli(scanned.stores, "redflags", "scan", "--json")
    assert code == 0
    doc = json.loads(out)  # the whole of stdout
    assert set(doc) == {"flags"}
    flags = doc["flags"]
    assert len(flags) == len(scanned.result.findings)
    for flag in flags:
        assert {"code", "mrn", "registration_id", "severity", "evidence"} <= set(flag), flag
        assert flag["code"] in BY_CODE and flag["severity"] == BY_CODE[flag["code"]].severity
        assert isinstance(flag["evidence"], list) and flag["evidence"]
    assert {(f["code"], f["registration_id"]) for f in flags} == {
        (f.code, f.registration_id) for f in scanned.result.findings
    }
    assert leaked([out], plain_ssns(small_hospital)) == []


def _count(stores: Stores) -> int:
    with stores.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(red_flags)).scalar_one())


def test_rescan_adds_nothing_and_keeps_resolved_flags(stores: Stores, small_hospital: Path) -> None:
    ingest(stores, small_hospital)
    first = run_scan(stores)
    assert first.new == len(first.findings) == _count(stores) > 0
    again = run_scan(stores)
    assert again.new == 0
    assert _count(stores) == len(first.findings)
    assert [f.flag_id for f in again.findings] == [f.flag_id for f in first.findings]

    target = first.findings[0].flag_id
    with stores.engine.begin() as conn:
        conn.execute(
            update(red_flags)
            .where(red_flags.c.flag_id == target)
            .values(status="resolved", resolution="verified in person")
        )
    third = run_scan(stores)
    assert third.new == 0
    assert _count(stores) == len(first.findings)
    with stores.engine.connect() as conn:
        status = dict(conn.execute(select(red_flags.c.flag_id, red_flags.c.status)).all())
    assert status[target] == "resolved"
    assert {s for fid, s in status.items() if fid != target} == {"open"}


@pytest.mark.usefixtures("cli_env")
def test_workforce_flags_are_dated_by_the_alert_window(
    stores: Stores, small_hospital: Path
) -> None:
    ingest(stores, small_hospital)
    run_monitor(stores)
    run_scan(stores)
    with stores.engine.connect() as conn:
        ends = {u: e for u, e in conn.execute(select(alerts.c.user_id, alerts.c.window_end))}
        flags = conn.execute(
            select(red_flags.c.user_id, red_flags.c.occurred_at).where(
                red_flags.c.code == "HC-WORKFORCE"
            )
        ).all()
    assert flags and len(flags) == len(ends)
    # when the accesses happened, not when the run noticed them
    assert all(at.date() == ends[user] for user, at in flags)


def test_watch_list_add_list_screen_remove(stores: Stores) -> None:
    code, out, err = cli(
        stores, "redflags", "watch", "add", "phone", "(314) 555-0199", "--reason", "test"
    )
    assert code == 0, err
    code, out, _ = cli(stores, "redflags", "watch", "list", "--json")
    assert code == 0
    entries = json.loads(out)["entries"]
    entry = next(e for e in entries if e["value"] == "(314) 555-0199")
    assert entry["kind"] == "phone" and entry["reason"] == "test"
    watch_id = entry["watch_id"]

    presented = Registration(
        first_name="Dana",
        last_name="Quill",
        dob="1980-04-04",
        address_line="12 Elm St",
        city="Plano",
        state="TX",
        zip="75024",
        phone="314.555.0199",
        id_type="drivers_license",
        id_checked=True,
    )
    answer = screen(stores, presented)
    ftc12 = [f for f in answer["flags"] if f["code"] == "FTC-12"]
    assert [f["detector"] for f in ftc12] == ["watch_phone"], answer["flags"]
    assert watch_id in ftc12[0]["evidence"][0]
    assert answer["decision"] == "stop"

    code, out, err = cli(stores, "redflags", "watch", "remove", watch_id)
    assert code == 0, err
    code, out, _ = cli(stores, "redflags", "watch", "list", "--json")
    assert watch_id not in {e["watch_id"] for e in json.loads(out)["entries"]}
    assert "FTC-12" not in {f["code"] for f in screen(stores, presented)["flags"]}

    line = one_line_error(*cli(stores, "redflags", "watch", "remove", watch_id))
    assert watch_id in line

    line = one_line_error(*cli(stores, "redflags", "watch", "add", "address", "nowhere"))
    assert "nowhere" in line
    code, out, _ = cli(stores, "redflags", "watch", "list", "--json")
    assert json.loads(out)["entries"] == []


def test_scan_before_init_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("PHIWARDEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("PHIWARDEN_KEY_FILE", raising=False)
    line = one_line_error(*cli(None, "redflags", "scan"))
    assert "phiwarden init" in line
    line = one_line_error(*cli(None, "redflags", "scan", "--json"))
    assert "phiwarden init" in line
