"""Scanning sources for an incident, into the store: the generator's phished mailbox in a
process pool (every exposed patient once, with the ground truth's elements), the JSON
contract of ``breach scan`` and ``breach people``, a scan killed with SIGKILL and run
again (same findings, no double counts), reviewers' decisions, a real Outlook PST and
.msg files, a business associate's list, a snooping user's monitoring population, bad
input, and the same findings from Spark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from conftest import ingest_and_scan
from phiwarden.breach.extract import ocr_available
from phiwarden.breach.incident import Incident, open_incident
from phiwarden.breach.lists import add_list, add_population
from phiwarden.breach.scan import scan_paths
from phiwarden.breach.scope import evidence, review, scope
from phiwarden.cases.casefile import get_case
from phiwarden.cases.effects import Refused
from phiwarden.cli import app as cli_app
from phiwarden.store.breach_tables import breach_findings, breach_units
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores
from phiwarden.synth.mailbox import write_mailbox

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
MAILBOX = Incident(
    title="Phished staff mailbox", discovered=date(2026, 11, 20), type="hacking", location="email"
)


def _incident(stores: Stores) -> str:
    return open_incident(stores, MAILBOX, actor="pat", now=datetime(2026, 11, 21, 9))


def _truth(found: dict[str, object]) -> dict[str, set[str]]:
    return {
        str(p["mrn"]): {"diagnosis" if e == "clinical" else e for e in p["elements"]}
        for p in found["people"]  # type: ignore[attr-defined]
    }


def test_the_phished_mailbox_scanned_in_a_pool_gives_the_ground_truth(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    truth = write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    incident = _incident(stores)
    stats = scan_paths(stores, incident, [tmp_path / "compromised.mbox"], actor="pat", workers=2)
    assert stats.messages > 20 and stats.attachments > 5 and stats.bytes > 100_000
    with stores.engine.connect() as conn:
        found = scope(conn, incident)
        case = get_case(conn, incident)
    want = {str(t["mrn"]): set(t["elements"]) for t in truth}  # type: ignore[call-overload]
    assert _truth(found) == want
    assert found["unscannable"] == [] and found["unlinked"] == []
    eml = _incident(stores)  # the same messages, one .eml file each
    by_file = scan_paths(stores, eml, [tmp_path / "compromised-eml"], actor="pat", workers=2)
    assert by_file.messages == stats.messages and by_file.attachments == stats.attachments
    with stores.engine.connect() as conn:
        assert _truth(scope(conn, eml)) == want
    person = found["people"][0]
    assert person["first_seen"] and person["last_seen"] >= person["first_seen"]
    assert case is not None and any(
        e["summary"].startswith("Scanned mailbox") for e in case["history"]
    )
    with stores.engine.connect() as conn:
        items = evidence(conn, incident, person["patient_id"])
    assert items and all(i["offsets"] and i["snippet"] for i in items)
    ssn = [i for i in items if i["element"] == "ssn"]
    for i in ssn:
        assert "***-**-" in i["snippet"] and not any(c.isdigit() for c in i["snippet"][:-4])


def test_the_cli_contract_and_a_second_run_that_adds_nothing(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    truth = write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    runner = CliRunner()
    base = [
        "--data-dir",
        str(stores.settings.data_dir),
        "--database-url",
        stores.settings.database_url,
    ]
    opened = runner.invoke(
        cli_app,
        [
            *base,
            "breach",
            "open",
            "--title",
            "Phish",
            "--discovered",
            "2026-11-20",
            "--type",
            "hacking",
            "--location",
            "email",
            "--json",
        ],
    )
    incident = json.loads(opened.stdout)["incident"]
    first = runner.invoke(
        cli_app, [*base, "breach", "scan", incident, str(tmp_path / "compromised.mbox"), "--json"]
    )
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert set(body) == {"incident", "people", "unlinked", "unscannable", "stats"}
    assert {"patient_id", "mrn", "name", "elements", "evidence"} <= set(body["people"][0])
    assert {"messages", "attachments", "bytes", "seconds"} <= set(body["stats"])
    assert len(body["people"]) == len(truth)
    again = json.loads(
        runner.invoke(
            cli_app,
            [*base, "breach", "scan", incident, str(tmp_path / "compromised.mbox"), "--json"],
        ).stdout
    )
    assert again["stats"]["messages"] == 0 and again["stats"]["skipped"] == body["stats"]["units"]
    assert again["people"] == body["people"]
    listed = json.loads(
        runner.invoke(cli_app, [*base, "breach", "people", incident, "--json"]).stdout
    )
    assert listed["people"] == body["people"]
    bad = runner.invoke(cli_app, [*base, "breach", "scan", "BR-2099-00009", str(tmp_path)])
    assert bad.exit_code == 1 and "no incident BR-2099-00009" in bad.output
    missing = runner.invoke(
        cli_app, [*base, "breach", "scan", incident, str(tmp_path / "nope.mbox")]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output


def _counts(stores: Stores, incident: str) -> tuple[int, int, int]:
    f = breach_findings.c
    with stores.engine.connect() as conn:
        findings = conn.execute(select(func.count()).where(f.incident_id == incident)).scalar_one()
        occurrences = conn.execute(
            select(func.sum(f.occurrences)).where(f.incident_id == incident)
        ).scalar_one()
        units = conn.execute(select(func.count()).select_from(breach_units)).scalar_one()
    return int(findings), int(occurrences or 0), int(units)


def test_a_scan_killed_with_sigkill_resumes_to_the_same_result(
    small_hospital: Path, tmp_path: Path
) -> None:
    """A real process killed mid-scan, then run again; compared with an uninterrupted
    scan of the same mailbox (SQLite: the subprocess shares the file)."""
    from phiwarden.config import load_settings
    from phiwarden.store.setup import initialise

    write_mailbox(small_hospital / "canonical", tmp_path / "mb", seed=11)
    one = (tmp_path / "mb" / "compromised.mbox").read_bytes()
    big = tmp_path / "big.mbox"
    big.write_bytes(one * 25)  # 25 copies: long enough to be killed half-way
    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    ingest_and_scan(stores, small_hospital)
    killed, clean = _incident(stores), _incident(stores)
    env = {
        **os.environ,
        "PHIWARDEN_DATA_DIR": str(tmp_path / "data"),
        "PHIWARDEN_DATABASE_URL": stores.settings.database_url,
    }
    cmd = [
        sys.executable,
        "-m",
        "phiwarden.cli",
        "breach",
        "scan",
        killed,
        str(big),
        "--workers",
        "1",
        "--json",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            with stores.engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(breach_units)).scalar_one()
            if done >= 100 or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    partial = _counts(stores, killed)[2]
    messages = one.count(b"\nFrom ") + 1
    assert 0 < partial < messages * 25, "the scan must be killed half-way"
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    stats = json.loads(resumed.stdout)["stats"]
    assert stats["skipped"] == partial and stats["units"] == messages * 25 - partial
    scan_paths(stores, clean, [big], actor="pat", workers=2)
    a, b = _counts(stores, killed), _counts(stores, clean)
    assert a[:2] == b[:2]
    with stores.engine.connect() as conn:
        assert scope(conn, killed)["people"] == scope(conn, clean)["people"]
        per_source = conn.execute(
            select(breach_units.c.source_id, func.count()).group_by(breach_units.c.source_id)
        ).all()
    assert sorted(n for _, n in per_source) == [messages * 25, messages * 25]


def test_reviewers_confirm_and_reject_people_and_findings(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    incident = _incident(stores)
    scan_paths(stores, incident, [tmp_path / "compromised.mbox"], actor="pat", workers=1)
    with stores.engine.connect() as conn:
        people = scope(conn, incident)["people"]
    gone, kept = people[0], next(p for p in people[1:] if len(p["elements"]) > 3)
    with pytest.raises(Refused, match="say why"):
        review(stores, incident, "person", gone["patient_id"], "rejected", reviewer="rita")
    review(
        stores,
        incident,
        "person",
        gone["patient_id"],
        "rejected",
        reviewer="rita",
        reason="staff test record",
    )
    with stores.engine.connect() as conn:
        items = evidence(conn, incident, kept["patient_id"])
    element = next(
        e for e in kept["elements"] if e != "name" and sum(i["element"] == e for i in items) == 1
    )
    finding = next(i for i in items if i["element"] == element)
    review(
        stores,
        incident,
        "finding",
        str(finding["finding_id"]),
        "rejected",
        reviewer="rita",
        reason="a different date",
    )
    review(stores, incident, "person", kept["patient_id"], "confirmed", reviewer="rita")
    with pytest.raises(LookupError):
        review(stores, incident, "person", "nobody", "confirmed", reviewer="rita")
    with stores.engine.connect() as conn:
        after = {p["patient_id"]: p for p in scope(conn, incident)["people"]}
        everyone = scope(conn, incident, with_rejected=True)["people"]
        case = get_case(conn, incident)
    assert gone["patient_id"] not in after and len(everyone) == len(people)
    assert element not in after[kept["patient_id"]]["elements"]
    assert after[kept["patient_id"]]["review"] == "confirmed"
    reviews = [e["summary"] for e in case["history"] if e["kind"] == "review"]  # type: ignore[index]
    assert len(reviews) == 3 and "staff test record" in reviews[0]


def test_a_real_outlook_pst_and_msg_files(stores: Stores, tmp_path: Path) -> None:
    incident = _incident(stores)
    stats = scan_paths(stores, incident, [FIXTURES / "outlook.pst"], actor="pat", workers=1)
    assert stats.messages == 2 and stats.attachments == 22  # one message, in two folders
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("attachment.msg", "with-attachments-2.msg"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    stats = scan_paths(stores, incident, [folder], actor="pat", workers=1)
    assert stats.messages == 2 and stats.attachments == 4
    with stores.engine.connect() as conn:
        unread = scope(conn, incident)["unscannable"]
    # the PST's attachments are 11 JPEG pictures, in each of the two folders
    if not ocr_available():
        assert len(unread) == 22
        assert {u["reason"] for u in unread} == {"an image, and no OCR (Tesseract) is installed"}
        assert all(u["where"].startswith("outlook.pst/Top of Personal Folders/") for u in unread)
    broken = tmp_path / "broken.pst"
    broken.write_bytes(b"!BDN" + b"\x00" * 600)
    with pytest.raises(ValueError, match="not a readable Outlook PST"):
        scan_paths(stores, incident, [broken], actor="pat", workers=1)


def test_without_extract_msg_an_msg_is_listed_unscannable(
    stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "extract_msg", None)  # the GPL extra not installed
    incident = _incident(stores)
    scan_paths(stores, incident, [FIXTURES / "attachment.msg"], actor="pat", workers=1)
    with stores.engine.connect() as conn:
        [item] = scope(conn, incident)["unscannable"]
    assert item["where"] == "attachment.msg" and "extract-msg" in item["reason"]


def test_a_business_associates_list(stores: Stores, small_hospital: Path, tmp_path: Path) -> None:
    ingest_and_scan(stores, small_hospital)
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        rows = conn.execute(
            select(
                p.c.patient_id, p.c.first_name, p.c.last_name, p.c.dob, p.c.mrn, p.c.ssn_encrypted
            )
            .where(p.c.ssn_encrypted.is_not(None))
            .order_by(p.c.mrn)
            .limit(3)
        ).all()
    ssn = stores.protector.decrypt(rows[0].ssn_encrypted)
    listing = tmp_path / "ba.csv"
    listing.write_text(
        "Full Name,Date of Birth,SSN,MRN,Elements\n"
        f"Someone Else,1970-01-01,{ssn},,name;ssn\n"
        f'"{rows[1].last_name}, {rows[1].first_name}",{rows[1].dob:%m/%d/%Y},,,name;dob;clinical\n'
        f",,,{rows[2].mrn},mrn;financial_account\n"
        "Quentin Zzyzx,1980-02-02,,,name;dob\n"
        ",,,,\n"
        "Pat Doe,1980-02-02,,,name;blood\n"
    )
    incident = _incident(stores)
    add_list(stores, incident, listing, actor="pat")
    with stores.engine.connect() as conn:
        found = scope(conn, incident)
    people = {p["patient_id"]: set(p["elements"]) for p in found["people"]}
    assert people == {
        rows[0].patient_id: {"name", "ssn"},
        rows[1].patient_id: {"name", "dob", "clinical"},
        rows[2].patient_id: {"mrn", "financial_account"},
    }
    assert [(u["name"], u["elements"]) for u in found["unlinked"]] == [
        ("Q. Zzyzx", ["dob", "name"])
    ]
    assert [(u["where"], u["reason"]) for u in found["unscannable"]] == [
        ("ba.csv:6", "no name or identifier on the line"),
        ("ba.csv:7", "unknown element(s) blood"),
    ]


def test_a_snooping_users_monitoring_population(stores: Stores, small_hospital: Path) -> None:
    from phiwarden.monitor.population import population

    ingest_and_scan(stores, small_hospital)
    w = domain_table("workforce")
    with stores.engine.connect() as conn:
        users = conn.execute(select(w.c.user_id).order_by(w.c.user_id)).scalars().all()
    since, until = date(2000, 1, 1), date.today() + timedelta(days=1)
    user, rows = next((u, r) for u in users if len(r := population(stores, u, since, until)) >= 5)
    incident = _incident(stores)
    add_population(stores, incident, user, since, until, actor="pat")
    add_population(stores, incident, user, since, until, actor="pat")  # again: nothing new
    with stores.engine.connect() as conn:
        found = scope(conn, incident)
    assert sorted(p["patient_id"] for p in found["people"]) == sorted(r["patient_id"] for r in rows)
    assert all({"name", "mrn", "clinical"} <= set(p["elements"]) for p in found["people"])
    assert all("ssn" not in p["elements"] for p in found["people"])
    with pytest.raises(ValueError, match="unknown element"):
        add_population(
            stores, incident, user, since, until, actor="pat", elements=("name", "blood")
        )


@pytest.mark.spark
def test_the_same_findings_on_spark(small_hospital: Path, tmp_path: Path) -> None:
    from phiwarden.config import load_settings
    from phiwarden.store.setup import initialise

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    ingest_and_scan(stores, small_hospital)
    write_mailbox(small_hospital / "canonical", tmp_path / "mb", seed=11)
    mbox = tmp_path / "mb" / "compromised.mbox"
    embedded, spark = _incident(stores), _incident(stores)
    scan_paths(stores, embedded, [mbox], actor="pat", workers=2)
    scan_paths(stores, spark, [mbox], actor="pat", engine="spark")
    f = breach_findings.c
    with stores.engine.connect() as conn:
        rows = {
            incident: sorted(
                conn.execute(
                    select(f.place, f.element, f.person, f.occurrences, f.snippet).where(
                        f.incident_id == incident
                    )
                ).all()
            )
            for incident in (embedded, spark)
        }
    assert rows[embedded] and rows[embedded] == rows[spark]
