"""The case engine and the identity-theft procedure (seed 003 section IX) on SQLite and
PostgreSQL: every transition, the guards and their reasons, conflicts, the 30-day timer on
a controlled clock, the separation round trip, a crash mid-separation, and the
law-enforcement referral."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from conftest import database_url, ingest_and_scan
from phiwarden.cases import (
    actions,
    casefile,
    documents,
    engine,
    referral,
    separation,
    theft,
    transition,
)
from phiwarden.cases.effects import Refused
from phiwarden.cases.procedure import ProcedureError, load
from phiwarden.cases.tick import tick
from phiwarden.config import load_settings
from phiwarden.redflags.screen import Registration, screen
from phiwarden.store.case_tables import (
    billing_holds,
    case_outbox,
    identity_placeholders,
    patient_alerts,
    record_moves,
)
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise

T0 = datetime(2026, 12, 1, 9, 0)
PO = {"actor": "pat.officer", "role": "privacy_officer"}
#: every table a separation may change, compared row by row around a round trip
MOVED_TABLES = (
    "patients",
    "encounters",
    "orders",
    "lab_results",
    "prescriptions",
    "registrations",
    "billing_accounts",
    "transactions",
)


def pdf(text: str) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (210, 225, 240)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def hospital(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, list[dict[str, Any]]]]:
    """The small hospital ingested and scanned for red flags, with its injected thefts
    (each with the flag that found it); tests take different thefts."""
    root = tmp_path_factory.mktemp(f"cases-{request.param}")
    with database_url(request.param, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        ingest_and_scan(stores, small_hospital)
        truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
        with stores.engine.connect() as conn:
            flags = [dict(r) for r in conn.execute(select(red_flags)).mappings()]
        for t in truth:
            t["flag_id"] = next(
                (f["flag_id"] for f in flags if f["registration_id"] == t["registration_id"]),
                None,
            )
        try:
            yield stores, truth
        finally:
            stores.engine.dispose()


def _theft(truth: list[dict[str, Any]], scenario: str, n: int = 0) -> dict[str, Any]:
    found = [t for t in truth if t["scenario"] == scenario and t["flag_id"]]
    assert len(found) > n, f"the small hospital has no {scenario} theft #{n}"
    return found[n]


def _case(stores: Stores, case_id: str) -> dict[str, Any]:
    with stores.engine.connect() as conn:
        found = casefile.get_case(conn, case_id, "privacy_officer")
    assert found is not None
    return found


def _papers(stores: Stores, case_id: str, at: datetime) -> int:
    rev = _case(stores, case_id)["revision"]
    for kind, content in (
        ("photo_id", image("JPEG")),
        ("affidavit", pdf("Forgery affidavit")),
        ("police_report", image("PNG")),
    ):
        rev = documents.upload(
            stores,
            case_id,
            kind,
            f"{kind}.bin",
            content,
            actor="pat.officer",
            revision=rev,
            now=at,
        )["revision"]
    return int(rev)


def _snapshot(stores: Stores) -> dict[str, list[tuple[str, ...]]]:
    out = {}
    with stores.engine.connect() as conn:
        for name in MOVED_TABLES:
            table = domain_table(name)
            out[name] = sorted(tuple(str(v) for v in row) for row in conn.execute(select(table)))
    return out


def test_allegation_puts_the_alert_notes_holds_tasks_and_timer_in_place(hospital: Any) -> None:
    stores, truth = hospital
    t = _theft(truth, "returned_mail")
    opened = theft.from_flag(stores, t["flag_id"], actor="registrar.ann", now=T0)
    assert not opened.joined
    case = _case(stores, opened.case_id)
    assert case["state"] == "alleged" and case["procedure"]["version"] == "1"
    assert [s["role"] for s in case["subjects"]] == ["victim"]
    assert any(link["kind"] == "encounter" for link in case["links"])
    roles = [task["role"] for task in case["tasks"]]
    assert roles == [
        "Admissions Director",
        "ER Admissions Supervisor",
        "Business Office Director or Manager",
        "HIM Director or Assistant Director",
        "Privacy Officer",
    ]
    assert case["holds"] and all(h["released_at"] is None for h in case["holds"])
    [timer] = case["timers"]
    assert timer["key"] == "resume_billing" and timer["due_at"] == T0 + timedelta(days=30)
    kinds = [e["kind"] for e in case["history"]]
    assert kinds[:2] == ["opened", "state"] and "alert" in kinds and "billing" in kinds
    # the registrar screening the victim is stopped by the alert, with the prescribed action
    with stores.engine.connect() as conn:
        victim = (
            conn.execute(
                select(domain_table("patients")).where(domain_table("patients").c.mrn == t["mrn"])
            )
            .mappings()
            .one()
        )
    answer = screen(
        stores,
        Registration(
            mrn=victim["mrn"],
            first_name=victim["first_name"],
            last_name=victim["last_name"],
            dob=victim["dob"],
        ),
    )
    assert answer["decision"] == "stop"
    assert answer["alerts"][0]["text"] == "Alleged identity theft - positive ID required"
    assert "positive photo ID" in answer["action"]
    # a second flag on the same patient joins the open case instead of opening another
    again = theft.allege(stores, victim_mrn=t["mrn"], actor="x", now=T0)
    assert again == theft.Opened(opened.case_id, True)


def test_guards_roles_and_conflicts_refuse_with_the_reason(hospital: Any) -> None:
    stores, truth = hospital
    opened = theft.from_flag(stores, _theft(truth, "shared_ssn")["flag_id"], actor="a", now=T0)
    case_id = opened.case_id
    rev = _case(stores, case_id)["revision"]
    with pytest.raises(Refused, match="not uploaded: Copy of the victim's photo ID"):
        transition.fire(stores, case_id, "substantiate", revision=rev, now=T0, **PO)
    with pytest.raises(engine.Forbidden, match="investigator may not 'substantiate'"):
        transition.fire(
            stores, case_id, "substantiate", actor="i", role="investigator", revision=rev, now=T0
        )
    with pytest.raises(Refused, match="cannot 'close'; it can: substantiate, unsubstantiate"):
        transition.fire(stores, case_id, "close", revision=rev, now=T0, **PO)
    actions.add_note(stores, case_id, "victim called back", actor="first", revision=rev, now=T0)
    with pytest.raises(engine.Conflict) as conflict:
        actions.add_note(stores, case_id, "stale", actor="second", revision=rev, now=T0)
    assert conflict.value.current == rev + 1
    assert [c["summary"] for c in conflict.value.changes] == ["victim called back"]
    # uploads are typed from their bytes: a renamed executable, an empty or oversized file
    for content, reason in (
        (b"MZ\x90\x00" + b"\x00" * 64, "only PDF, JPEG or PNG"),
        (b"", "empty"),
        (b"%PDF-1.4" + b"0" * documents.MAX_BYTES, "the limit is"),
        (b"%PDF-1.4\n not really a pdf", "the PDF cannot be read"),
    ):
        with pytest.raises(documents.BadUpload, match=reason):
            documents.upload(
                stores, case_id, "police_report", "report.pdf", content, actor="a", revision=None
            )
    assert documents.safe_name("C:\\scans\\report\r\nX-Evil: 1.pdf") == "report__X-Evil_ 1.pdf"
    with pytest.raises(Refused, match="unknown document kind"):
        documents.upload(stores, case_id, "selfie", "x.png", image("PNG"), actor="a", revision=None)


def test_substantiate_separate_refund_sign_and_close(hospital: Any) -> None:
    stores, truth = hospital
    t = _theft(truth, "blood_type_conflict", 1)
    case_id = theft.from_flag(stores, t["flag_id"], actor="a", now=T0).case_id
    # the victim refuses a police report: counsel is consulted instead
    rev = _case(stores, case_id)["revision"]
    for kind, content in (("photo_id", image("JPEG")), ("affidavit", pdf("Affidavit"))):
        rev = documents.upload(stores, case_id, kind, "f", content, actor="a", revision=rev)[
            "revision"
        ]
    rev = actions.record_fact(
        stores, case_id, "counsel_consulted", "R. Ortiz, SMH legal", revision=rev, **PO
    )["revision"]
    case = transition.fire(
        stores, case_id, "substantiate", revision=rev, now=T0 + timedelta(days=5), **PO
    )
    assert case["state"] == "substantiated"
    after = _case(stores, case_id)
    assert all(d["stamped_sha256"] for d in after["documents"])
    assert after["adjustments"] and after["adjustments"][0]["code"] == "IDTHEFT"
    assert all(tm["cancelled_at"] for tm in after["timers"]), "the 30-day timer ends"
    meta, stamped = documents.read_document(
        stores, case_id, after["documents"][1]["document_id"], "stamped"
    )
    assert meta["media_type"] == "application/pdf" and b"IDENTITY THEFT" in stamped
    with pytest.raises(Refused, match="give offender"):
        transition.fire(stores, case_id, "separate", revision=case["revision"], **PO)
    victim_labs = _labs_of(stores, t["mrn"])
    case = transition.fire(
        stores,
        case_id,
        "separate",
        revision=case["revision"],
        inputs={"offender": "unknown"},
        now=T0 + timedelta(days=6),
        **PO,
    )
    assert case["state"] == "separated"
    # the thief's ABO/Rh result no longer shows on the victim and is on the placeholder
    assert len(_labs_of(stores, t["mrn"])) < len(victim_labs)
    placeholder = {r["mrn"] for r in _placeholders(stores)}
    assert placeholder & {"299975", "299918"}
    after = _case(stores, case_id)
    open_tasks = [task for task in after["tasks"] if task["status"] == "open"]
    assert {task["role"] for task in open_tasks} >= {"Radiology", "Lab", "Dictation"}
    with pytest.raises(Refused, match="write the case summary"):
        transition.fire(stores, case_id, "close", revision=after["revision"], **PO)
    with pytest.raises(Refused, match="task\\(s\\) are not signed off"):
        transition.fire(
            stores, case_id, "close", revision=after["revision"], inputs={"summary": "x"}, **PO
        )
    with pytest.raises(engine.Forbidden, match="registrar may not sign off"):
        actions.sign_task(
            stores,
            case_id,
            next(tk for tk in open_tasks if tk["role"] == "Lab")["task_id"],
            actor="r",
            role="registrar",
            revision=None,
        )
    for task in open_tasks:
        actions.sign_task(stores, case_id, task["task_id"], revision=None, note="checked", **PO)
    rev = _case(stores, case_id)["revision"]
    closed = transition.fire(
        stores,
        case_id,
        "close",
        revision=rev,
        inputs={"summary": "Substantiated; separated."},
        now=T0 + timedelta(days=9),
        **PO,
    )
    assert closed["state"] == "closed" and closed["closed_at"] == T0 + timedelta(days=9)
    with pytest.raises(Refused, match="read-only"):
        actions.add_note(stores, case_id, "late", actor="a", revision=None)
    with stores.engine.connect() as conn:
        active = conn.execute(
            select(func.count())
            .select_from(patient_alerts)
            .where(patient_alerts.c.case_id == case_id, patient_alerts.c.removed_at.is_(None))
        ).scalar_one()
    assert active == 0, "closing takes the registration alert off"


def _labs_of(stores: Stores, mrn: str) -> list[str]:
    p, labs = domain_table("patients"), domain_table("lab_results")
    with stores.engine.connect() as conn:
        rows = conn.execute(
            select(labs.c.result_id)
            .select_from(labs.join(p, p.c.patient_id == labs.c.patient_id))
            .where(p.c.mrn == mrn)
        )
        return [r for (r,) in rows]


def _placeholders(stores: Stores) -> list[dict[str, Any]]:
    with stores.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(identity_placeholders)).mappings()]


def test_the_30_day_timer_resumes_billing_once_on_a_controlled_clock(hospital: Any) -> None:
    stores, truth = hospital
    case_id = theft.from_flag(
        stores, _theft(truth, "fraud_address")["flag_id"], actor="a", now=T0
    ).case_id
    assert tick(stores, T0 + timedelta(days=29, hours=23)).fired == 0
    assert _holds_in_force(stores, case_id) > 0
    first = tick(stores, T0 + timedelta(days=30))
    assert first.fired >= 1 and _holds_in_force(stores, case_id) == 0
    events = [e["summary"] for e in _case(stores, case_id)["history"]]
    assert any(s.startswith("Billing resumed") for s in events)
    assert tick(stores, T0 + timedelta(days=31)).fired == 0, "a second tick does nothing twice"
    assert (
        sum(
            s.startswith("Billing resumed")
            for s in [e["summary"] for e in _case(stores, case_id)["history"]]
        )
        == 1
    )


def test_the_committee_extends_or_holds_the_timer(hospital: Any) -> None:
    stores, truth = hospital
    extended = theft.from_flag(
        stores, _theft(truth, "fraud_phone")["flag_id"], actor="a", now=T0
    ).case_id
    actions.extend_timer(
        stores,
        extended,
        "resume_billing",
        15,
        actor="po",
        reason="victim in hospital",
        revision=None,
        now=T0,
    )
    tick(stores, T0 + timedelta(days=31))
    assert _holds_in_force(stores, extended) > 0, "extended by 15 days: still suspended"
    tick(stores, T0 + timedelta(days=45))
    assert _holds_in_force(stores, extended) == 0
    held = theft.from_flag(
        stores, _theft(truth, "fraud_phone", 1)["flag_id"], actor="a", now=T0
    ).case_id
    actions.extend_timer(
        stores,
        held,
        "resume_billing",
        0,
        actor="po",
        reason="committee review",
        revision=None,
        hold=True,
        now=T0,
    )
    tick(stores, T0 + timedelta(days=60))
    assert _holds_in_force(stores, held) > 0, "held: nothing resumes by itself"
    approve = next(t for t in _case(stores, held)["tasks"] if t["key"] == "approve_resume_billing")
    actions.sign_task(stores, held, approve["task_id"], revision=None, **PO)
    assert _holds_in_force(stores, held) == 0


def _holds_in_force(stores: Stores, case_id: str) -> int:
    with stores.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(billing_holds)
                .where(billing_holds.c.case_id == case_id, billing_holds.c.released_at.is_(None))
            ).scalar_one()
        )


@pytest.mark.parametrize(
    ("trigger", "scenario", "state"),
    [
        ("unsubstantiate", "ssn_never_issued", "unsubstantiated"),
        ("withdraw", "ssn_dob_mismatch", "withdrawn"),
    ],
)
def test_unsubstantiated_or_withdrawn_resumes_billing_and_removes_the_alert(
    hospital: Any, trigger: str, scenario: str, state: str
) -> None:
    stores, truth = hospital
    n = 0 if trigger == "unsubstantiate" else 1
    case_id = theft.from_flag(
        stores, _theft(truth, scenario, n)["flag_id"], actor="a", now=T0
    ).case_id
    assert _holds_in_force(stores, case_id) > 0
    with pytest.raises(Refused, match="give the reason"):
        transition.fire(stores, case_id, trigger, revision=None, **PO)
    why = "patient's own visit, confirmed by ID"
    transition.fire(stores, case_id, trigger, revision=None, reason=why, **PO)
    case = _case(stores, case_id)
    assert case["state"] == state and _holds_in_force(stores, case_id) == 0
    assert any(e["reason"] == why for e in case["history"])
    with stores.engine.connect() as conn:
        alert = (
            conn.execute(select(patient_alerts).where(patient_alerts.c.case_id == case_id))
            .mappings()
            .one()
        )
    assert alert["removed_at"] is not None and alert["removed_reason"] == why
    victim = _case(stores, case_id)["title"].rsplit(" ", 1)[1]
    again = theft.allege(stores, victim_mrn=victim, actor="a", now=T0)
    assert not again.joined, "a new allegation after a settled one is a new case"
    transition.fire(stores, case_id, "close", revision=None, inputs={"summary": "Not theft."}, **PO)
    assert _case(stores, case_id)["state"] == "closed"


def test_separation_round_trip_restores_every_row(hospital: Any) -> None:
    stores, truth = hospital
    t = _theft(truth, "ssn_dob_mismatch")
    case_id = theft.from_flag(stores, t["flag_id"], actor="a", now=T0).case_id
    rev = _papers(stores, case_id, T0)
    rev = transition.fire(stores, case_id, "substantiate", revision=rev, **PO)["revision"]
    before = _snapshot(stores)
    rev = transition.fire(
        stores, case_id, "separate", revision=rev, inputs={"offender": "new:Doe, Jay"}, **PO
    )["revision"]
    assert _snapshot(stores) != before
    transition.fire(stores, case_id, "undo_separation", revision=rev, reason="wrong visit", **PO)
    assert _snapshot(stores) == before
    with stores.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count())
                .select_from(record_moves)
                .where(record_moves.c.case_id == case_id, record_moves.c.undone_at.is_(None))
            ).scalar_one()
            == 0
        )


def test_a_crash_mid_separation_moves_nothing_and_queues_nothing(
    hospital: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores, truth = hospital
    case_id = theft.from_flag(
        stores, _theft(truth, "insurance_mismatch", 1)["flag_id"], actor="a", now=T0
    ).case_id
    rev = _papers(stores, case_id, T0)
    rev = transition.fire(stores, case_id, "substantiate", revision=rev, **PO)["revision"]
    before = _snapshot(stores)
    real, calls = separation._set, []

    def crash(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        real(*args, **kwargs)

    monkeypatch.setattr(separation, "_set", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        transition.fire(
            stores, case_id, "separate", revision=rev, inputs={"offender": "unknown"}, **PO
        )
    assert len(calls) == 3 and _snapshot(stores) == before
    assert _case(stores, case_id)["state"] == "substantiated"
    with stores.engine.connect() as conn:
        queued = conn.execute(
            select(func.count())
            .select_from(case_outbox)
            .where(case_outbox.c.channel == "hl7", case_outbox.c.case_id == case_id)
        ).scalar_one()
    assert queued == 0


def test_the_referral_holds_only_the_names_and_the_date(hospital: Any) -> None:
    stores, truth = hospital
    t = _theft(truth, "insurance_mismatch")
    case_id = theft.allege(
        stores, victim_mrn=t["mrn"], actor="a", occurred="2026-01-09", offender_name="Jay Doe"
    ).case_id
    content = referral.referral(stores, case_id)
    assert set(content) == set(referral.FIELDS)
    assert content["alleged_thief_name"] == "Jay Doe" and content["occurrence_date"] == "2026-01-09"
    assert "Homeland Security" in content["office"]
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        victim = conn.execute(select(p).where(p.c.mrn == t["mrn"])).mappings().one()
    from pypdf import PdfReader

    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(referral.referral_pdf(content))).pages
    )
    assert victim["last_name"] in text and "Jay Doe" in text
    for private in (
        victim["mrn"],
        str(victim["dob"]),
        victim["address_line"],
        victim["zip"],
        victim["blood_type"],
    ):
        if private:
            assert private not in text and private not in json.dumps(content)


def test_intake_records_a_flag_and_opens_or_joins_the_case(hospital: Any) -> None:
    stores, truth = hospital
    t = _theft(truth, "complaint")
    flag_id, opened = theft.intake(
        stores,
        kind="collection_notice",
        mrn=t["mrn"],
        actor="billing.bo",
        description="collection agency letter for an ER visit",
        now=T0,
    )
    with stores.engine.connect() as conn:
        flag = (
            conn.execute(select(red_flags).where(red_flags.c.flag_id == flag_id)).mappings().one()
        )
    assert flag["code"] == "HC-COMPLAINT" and flag["status"] == "open"
    _again, joined = theft.intake(
        stores, kind="law_enforcement_notice", mrn=t["mrn"], actor="x", description="", now=T0
    )
    assert joined == theft.Opened(opened.case_id, True)
    links = {(link["kind"], link["ref"]) for link in _case(stores, opened.case_id)["links"]}
    assert ("red_flag", flag_id) in links and ("red_flag", _again) in links
    with pytest.raises(Refused, match="unknown intake kind"):
        theft.intake(stores, kind="rumour", mrn=t["mrn"], actor="x", description="")


def test_procedures_are_data_validated_and_versioned(hospital: Any, tmp_path: Path) -> None:
    stores, truth = hospital
    procedure, source = load("identity_theft")
    assert source.endswith("identity_theft.toml") and procedure.state("alleged").cites
    text = Path(source).read_text()
    bad = tmp_path / "procedures"
    bad.mkdir()
    (bad / "identity_theft.toml").write_text(text.replace('dest = "closed"', 'dest = "limbo"', 1))
    with pytest.raises(ProcedureError, match="unknown state 'limbo'"):
        load("identity_theft", tmp_path)
    (bad / "identity_theft.toml").write_text(text.replace("document:affidavit", "document:selfie"))
    with pytest.raises(ProcedureError, match="unknown guard 'document:selfie'"):
        load("identity_theft", tmp_path)
    with pytest.raises(ProcedureError, match="no procedure 'nope'"):
        load("nope")
    # a hospital's version 2 (a 45-day period) applies to new cases only
    old_case = theft.allege(
        stores, victim_mrn=_theft(truth, "shared_ssn", 1)["mrn"], actor="a", now=T0
    ).case_id
    (bad / "identity_theft.toml").write_text(
        text.replace('version = "1"', 'version = "2"').replace(
            "billing_suspension_days = 30", "billing_suspension_days = 45"
        )
    )
    hospital_settings = load_settings(stores.settings.data_dir, stores.settings.database_url)
    from dataclasses import replace

    local = Stores(replace(hospital_settings, config_dir=tmp_path), stores.engine, stores.protector)
    new_case = theft.allege(
        local, victim_mrn=_theft(truth, "ssn_never_issued", 1)["mrn"], actor="a", now=T0
    ).case_id
    assert _case(stores, new_case)["procedure"]["version"] == "2"
    assert _case(stores, new_case)["timers"][0]["due_at"] == T0 + timedelta(days=45)
    assert _case(stores, old_case)["procedure"]["version"] == "1"
    transition.fire(local, old_case, "unsubstantiate", revision=None, reason="r", **PO)
    assert _case(stores, old_case)["procedure"]["version"] == "1", (
        "a running case keeps its version"
    )


def test_an_allegation_without_an_account_on_file_says_to_hold_billing_by_hand(
    hospital: Any,
) -> None:
    stores, truth = hospital
    t = _theft(truth, "blood_type_conflict")  # its visit has no charge and no account yet
    case = _case(stores, theft.from_flag(stores, t["flag_id"], actor="a", now=T0).case_id)
    assert case["holds"] == []
    assert any(
        "suspend billing in the billing system by hand" in e["summary"] for e in case["history"]
    )


def test_case_numbers_keep_rising_past_five_digits(hospital: Any) -> None:
    """A store with cases but no counter yet (one upgraded from before it) counts on from
    the highest number on file, by value: as text "...-99999" sorts after "...-100000"."""
    from phiwarden.store.case_tables import case_files, case_numbers

    stores, truth = hospital
    mrn = _theft(truth, "shared_ssn", 1)["mrn"]
    first = theft.allege(stores, victim_mrn=mrn, actor="a", now=T0)
    with stores.engine.begin() as conn:
        query = select(case_files).where(case_files.c.case_id == first.case_id)
        row = dict(conn.execute(query).mappings().one())
        prefix, year, _ = first.case_id.split("-")
        for n in (99998, 99999, 100000):
            conn.execute(case_files.insert().values({**row, "case_id": f"{prefix}-{year}-{n}"}))
        conn.execute(case_numbers.delete().where(case_numbers.c.stem == f"{prefix}-{year}-"))
        assert engine._next_id(conn, prefix, T0) == f"{prefix}-{year}-100001"
        assert engine._next_id(conn, prefix, T0) == f"{prefix}-{year}-100002"
        conn.rollback()


def test_concurrent_openings_take_numbers_without_colliding(hospital: Any) -> None:
    """Openers at the same time get distinct, consecutive numbers, and none of them has to
    redo its opening because another took its number (a unique-key failure)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event

    stores, _ = hospital
    failures: list[str] = []

    def on_error(context: Any) -> None:
        failures.append(type(context.original_exception).__name__)

    event.listen(stores.engine, "handle_error", on_error)
    when = datetime(2031, 3, 1, 9, 0)  # a year of its own: the numbers start at 1

    def open_some(k: int) -> list[str]:
        return [
            engine.open_case(
                stores, "breach_incident", actor=f"opener{k}", title=f"t{k}-{i}", now=when
            )
            for i in range(6)
        ]

    try:
        with ThreadPoolExecutor(4) as pool:
            opened = [c for batch in pool.map(open_some, range(4)) for c in batch]
    finally:
        event.remove(stores.engine, "handle_error", on_error)
    assert sorted(opened) == [f"BR-2031-{n:05d}" for n in range(1, 25)]
    assert failures == []
