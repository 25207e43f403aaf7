"""The two seed incidents end to end on synthetic data.

Seed 004 (Metrocare, Texas): a phished mailbox exposing about 1,800 people, most of them
Texans, some with an SSN: letters to all of them, credit monitoring for exactly the SSN
subset, HHS at once, a media notice for Texas, the Texas Attorney General and its 30 days,
and individual deadlines of 60 days.

Seed 000 (SSM Health, St. Louis): every patient a snooping call-centre agent opened,
legitimate accesses included, becomes letters, the OCR report and the Missouri and Illinois
rules."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from phiwarden.breach.decision import Decision, decide
from phiwarden.breach.hhs import report
from phiwarden.breach.incident import Incident, get_incident, open_incident
from phiwarden.breach.letters import prepare
from phiwarden.breach.lists import add_population
from phiwarden.breach.notices import draft
from phiwarden.breach.obligations import compute
from phiwarden.breach.scan import scan_paths
from phiwarden.breach.scope import scope
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.monitor.population import population
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import generate
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.synth.spec import SynthSpec


@pytest.mark.slow
def test_seed_004_a_phished_mailbox_of_texans(tmp_path: Path) -> None:
    generate(
        tmp_path / "h",
        replace(SynthSpec(patients=24_000, workforce=400, days=7, seed=4), formats=("canonical",)),
    )
    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    run_ingest(
        [tmp_path / "h" / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    truth = write_mailbox(tmp_path / "h" / "canonical", tmp_path / "mb", seed=4)
    assert 1_200 <= len(truth) <= 2_000
    p = domain_table("patients")
    with stores.engine.begin() as conn:  # a Texas hospital: nine patients in ten are Texans
        ids = conn.execute(select(p.c.patient_id).order_by(p.c.patient_id)).scalars().all()
        texans = [pid for i, pid in enumerate(ids) if i % 10]
        for start in range(0, len(texans), 5_000):
            conn.execute(
                update(p)
                .where(p.c.patient_id.in_(texans[start : start + 5_000]))
                .values(state="TX")
            )
    discovered = date(2026, 3, 2)
    incident = open_incident(
        stores,
        Incident(
            title="Phished employee mailbox",
            discovered=discovered,
            type="hacking",
            location="email",
        ),
        actor="po",
    )
    scan_paths(stores, incident, [tmp_path / "mb" / "compromised.mbox"], actor="po", workers=2)
    decide(
        stores,
        incident,
        Decision(outcome="breach", reason="mailbox read by an attacker"),
        actor="po",
        role="privacy_officer",
    )
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident)
        assert found is not None
        scoped = scope(conn, incident)
        people = scoped["people"]
        items, notified = compute(conn, found, today=discovered)
        batch = prepare(conn, found, stores.protector, today=discovered)
        hhs = report(conn, found)
        drafts = {
            path.name: path.read_text()
            for path in draft(conn, found, tmp_path / "notices", today=discovered)
        }
    want = {str(t["mrn"]) for t in truth}  # type: ignore[index]
    assert {p["mrn"] for p in people} == want
    texans_affected = len(notified.by_state.get("TX", []))
    assert texans_affected > len(people) / 2
    # 1. letters to all of them (duplicates of one name at one address merged)
    letters = batch.letters + batch.insufficient
    assert len(letters) + batch.duplicates == len(people)
    # 2. credit monitoring for exactly the SSN subset
    ssn = {p["patient_id"] for p in people if "ssn" in p["elements"]}
    assert ssn and all(x.credit_code for x in letters if x.person in ssn)
    assert all((x.credit_code is not None) == (x.person in ssn) for x in letters if x.state != "CA")
    kinds = {(o.kind, o.jurisdiction): o for o in items}
    # 3. HHS at once (500 or more), with the individuals
    assert kinds[("hhs", "US")].due == discovered + timedelta(days=60)
    assert hhs["filing"] == "at once (500 or more)"
    assert hhs["individuals_affected"] == len(people) + len(scoped["unlinked"])
    # 4. a media notice for Texas (more than 500 Texans)
    assert ("media", "TX") in kinds and kinds[("media", "TX")].people == texans_affected
    # 5. the Texas Attorney General, within 30 days (250 or more Texans)
    assert kinds[("attorney_general", "TX")].due == discovered + timedelta(days=30)
    # 6. individual deadlines of 60 days, HIPAA's and Texas'
    assert kinds[("individuals", "US")].due == discovered + timedelta(days=60)
    assert kinds[("individuals", "TX")].due == discovered + timedelta(days=60)
    # the notices drafted for them: the Texas media and the Texas Attorney General
    assert f"notifying {texans_affected:,} Texas residents" in " ".join(
        drafts["media-TX.md"].split()
    )
    assert "Texas Attorney General" in drafts["attorney-general-TX.md"]
    assert "§ 521.053(i)" in drafts["attorney-general-TX.md"]


def test_seed_000_a_snooping_agents_patients(stores: Stores, small_hospital: Path) -> None:
    from conftest import ingest_and_scan

    ingest_and_scan(stores, small_hospital)
    truth = json.loads((small_hospital / "ground_truth.json").read_text())
    agent = next(s for s in truth["snooping"] if s["scenario"] == "controlled_substance_panel")
    since, until = date(2000, 1, 1), date.today() + timedelta(days=1)
    opened = population(stores, agent["user_id"], since, until)
    p = domain_table("patients")
    with (
        stores.engine.begin() as conn
    ):  # St. Louis: Missouri patients, some across the river in Illinois
        for i, row in enumerate(opened):
            conn.execute(
                update(p)
                .where(p.c.patient_id == row["patient_id"])
                .values(state="IL" if i % 3 == 0 else "MO")
            )
    discovered = date(2017, 10, 30)
    incident = open_incident(
        stores,
        Incident(
            title="Call-centre employee accessed records",
            discovered=discovered,
            type="unauthorized_access",
            location="emr",
            occurred_from=date(2017, 2, 13),
            occurred_to=date(2017, 10, 20),
        ),
        actor="po",
    )
    add_population(stores, incident, agent["user_id"], since, until, actor="po")
    decide(
        stores,
        incident,
        Decision(outcome="breach", reason="accessed without a job reason"),
        actor="po",
        role="privacy_officer",
    )
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident)
        assert found is not None
        items, notified = compute(conn, found, today=discovered)
        batch = prepare(conn, found, stores.protector, today=discovered)
        hhs = report(conn, found)
    assert notified.total == len(opened), (
        "every patient the agent opened, legitimate accesses included"
    )
    assert len(batch.letters) + len(batch.insufficient) + batch.duplicates == len(opened)
    assert not any(x.credit_code for x in batch.letters), (
        "no SSN was shown: no credit monitoring is owed"
    )
    kinds = {(o.kind, o.jurisdiction): o for o in items}
    assert ("individuals", "MO") in kinds and ("individuals", "IL") in kinds
    assert ("attorney_general", "MO") not in kinds, "Missouri: only above 1,000 residents"
    assert ("attorney_general", "IL-HIPAA") in kinds, "Illinois: 5 business days after HHS (530/50)"
    assert hhs["type_of_breach"] == "Unauthorized Access/Disclosure"
    assert hhs["location_of_breached_information"] == "Electronic Medical Record"
    assert hhs["breach_start_date"] == "2017-02-13" and "Clinical" in hhs["type_of_phi"]
