"""Notification letters for the phished mailbox of the test hospital: one PDF per person
with the 164.404(c) content for that person, credit monitoring with a unique enrolment
code for exactly those whose SSN was exposed, the state's headings and items, the
next-of-kin and guardian variants, Spanish, and the mailing list (USPS addresses, no
duplicates, the unmailable apart)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import update

from conftest import ingest_and_scan
from phiwarden.breach.decision import Decision, decide
from phiwarden.breach.hhs import hospital
from phiwarden.breach.incident import Incident, get_incident, open_incident
from phiwarden.breach.letter_pdf import render_pdf
from phiwarden.breach.letters import prepare
from phiwarden.breach.mailing import write
from phiwarden.breach.scan import scan_paths
from phiwarden.breach.scope import scope
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores
from phiwarden.synth.mailbox import write_mailbox

TODAY = date(2026, 11, 25)


def _decided(stores: Stores, hospital_dir: Path, tmp_path: Path) -> dict[str, object]:
    ingest_and_scan(stores, hospital_dir)
    write_mailbox(hospital_dir / "canonical", tmp_path, seed=11)
    incident_id = open_incident(
        stores,
        Incident(
            title="Phished billing mailbox",
            discovered=date(2026, 11, 20),
            type="hacking",
            location="email",
            occurred_from=date(2026, 11, 2),
            occurred_to=date(2026, 11, 19),
            description="An attacker read a billing employee's mailbox after a phishing e-mail",
            actions="We reset the password, required multi-factor sign-in and reviewed every message",
        ),
        actor="pat",
        now=datetime(2026, 11, 21, 9),
    )
    scan_paths(stores, incident_id, [tmp_path / "compromised.mbox"], actor="pat", workers=1)
    decide(
        stores,
        incident_id,
        Decision(outcome="breach", reason="phished"),
        actor="pat",
        role="privacy_officer",
    )
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident_id)
    assert found is not None
    return found


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages).split()
    )


def test_letters_credit_monitoring_for_exactly_the_ssn_subset(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    incident = _decided(stores, small_hospital, tmp_path)
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        people = scope(conn, str(incident["incident"]))["people"]
    dead, young = people[0]["patient_id"], people[1]["patient_id"]
    with stores.engine.begin() as conn:  # one deceased patient and one child among them
        conn.execute(update(p).where(p.c.patient_id == dead).values(deceased_date=date(2026, 1, 5)))
        conn.execute(update(p).where(p.c.patient_id == young).values(dob=date(2015, 6, 1)))
    with stores.engine.connect() as conn:
        batch = prepare(conn, incident, stores.protector, today=TODAY)
    letters = batch.letters + batch.insufficient
    assert len(letters) + batch.duplicates == len(people)
    with_ssn = {p["patient_id"] for p in people if "ssn" in p["elements"]}
    assert {x.person for x in letters if x.credit_code} == with_ssn
    assert len({x.credit_code for x in letters if x.credit_code}) == len(with_ssn), "unique codes"
    assert len({x.reference for x in letters}) == len(letters)
    variants = {x.person: x.variant for x in letters}
    assert variants[dead] == "next_of_kin" and variants[young] == "guardian"
    out = write(batch, tmp_path / "out", hospital(None)["covered_entity"], TODAY, workers=2)
    assert out["letters"] == len(letters) and out["credit_monitoring"] == len(with_ssn)
    rows = list(csv.DictReader((tmp_path / "out" / "mailing.csv").open()))
    assert {"reference", "credit_monitoring", "enrolment_code", "address"} <= set(rows[0])
    assert sum(r["credit_monitoring"] == "true" for r in rows) == sum(
        1 for x in batch.letters if x.credit_code
    )
    assert all(r["address"] == r["address"].upper() for r in rows), "USPS form"
    one = next(x for x in batch.letters if x.credit_code and x.variant == "self")
    text = _text((tmp_path / "out" / "letters" / f"{one.reference}.pdf").read_bytes())
    for needed in (
        "Notice of Data Breach",
        "What Happened?",
        "November 2, 2026",
        "November 20, 2026",
        "Social Security number",
        "multi-factor",
        "1-800-555-0199",
        one.reference,
        one.credit_code,
        "www.identitytheft.gov",
    ):
        assert needed in text, needed
    other = next(x for x in batch.letters if not x.credit_code and x.variant == "self")
    plain = _text(render_pdf(other, hospital(None)["covered_entity"], TODAY))
    assert "enrolment code" not in plain and "Social Security number" not in plain
    kin = next(x for x in letters if x.variant == "next_of_kin")
    assert "next of kin or personal representative" in _text(
        render_pdf(kin, hospital(None)["covered_entity"], TODAY)
    )


def test_state_headings_and_items_and_spanish(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    incident = _decided(stores, small_hospital, tmp_path)
    with stores.engine.connect() as conn:
        english = prepare(conn, incident, stores.protector, today=TODAY)
        spanish = prepare(conn, incident, stores.protector, today=TODAY, language="es")
    illinois = next((x for x in english.letters if x.state == "IL"), None)
    if illinois is not None:
        assert (
            "Federal Trade Commission" in illinois.text
            and "consumer reporting agencies" in illinois.text
        )
    letter = spanish.letters[0]
    assert (
        letter.language == "es"
        and "¿Qué sucedió?" in letter.text
        and "20 de noviembre de 2026" in letter.text
    )
    text = _text(render_pdf(letter, hospital(None)["covered_entity"], TODAY))
    assert "Aviso de violación de datos" in text and "Referencia" in text
