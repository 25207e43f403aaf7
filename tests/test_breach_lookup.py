"""The call centre's lookup: a caller is found by the reference on their letter or by
name, date of birth and ZIP; near misses, strangers and ambiguous matches all get the one
"not found" answer, so nothing is revealed about anyone else; the per-agent rate limit
stops enumeration; returned mail counts toward substitute notice and a corrected address
queues the letter again."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from conftest import ingest_and_scan
from phiwarden.breach.decision import Decision, decide
from phiwarden.breach.incident import Incident, get_incident, open_incident
from phiwarden.breach.letters import prepare
from phiwarden.breach.lookup import (
    NOT_FOUND,
    by_person,
    by_reference,
    correct_address,
    mark_returned,
)
from phiwarden.breach.mailing import record_letters
from phiwarden.breach.obligations import compute
from phiwarden.breach.scan import scan_paths
from phiwarden.store.breach_tables import breach_letters
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user, issue_token

TOLL = "1-800-555-0199"


@pytest.fixture
def mailed(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> tuple[str, list[dict[str, Any]]]:
    """The test hospital's phished mailbox, decided a breach, its letters on file."""
    ingest_and_scan(stores, small_hospital)
    write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    incident = open_incident(
        stores,
        Incident(
            title="Phished mailbox", discovered=date(2026, 11, 20), type="hacking", location="email"
        ),
        actor="po",
    )
    scan_paths(stores, incident, [tmp_path / "compromised.mbox"], actor="po", workers=1)
    decide(
        stores,
        incident,
        Decision(outcome="breach", reason="phished"),
        actor="po",
        role="privacy_officer",
    )
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident)
        batch = prepare(conn, found, stores.protector)  # type: ignore[arg-type]
    record_letters(stores.engine, incident, batch)
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        rows = conn.execute(select(breach_letters.c.reference, breach_letters.c.patient_id)).all()
        info = {
            r["patient_id"]: dict(r)
            for r in conn.execute(
                select(p.c.patient_id, p.c.first_name, p.c.last_name, p.c.dob, p.c.zip)
            ).mappings()
        }
    return incident, [{"reference": ref, **info[pid]} for ref, pid in rows if pid]


def test_found_by_reference_or_by_name_dob_and_zip(
    stores: Stores, mailed: tuple[str, list[dict[str, Any]]]
) -> None:
    incident, letters = mailed
    one = letters[0]
    with stores.engine.connect() as conn:
        by_ref = by_reference(conn, one["reference"].lower(), TOLL)
        by_who = by_person(
            conn, f"{one['first_name']} {one['last_name']}", one["dob"], one["zip"], TOLL
        )
        reversed_name = by_person(
            conn, f"{one['last_name']}, {one['first_name']}", one["dob"], f"{one['zip']}-0000", TOLL
        )
    assert by_ref.affected and by_ref.incident == incident and by_ref.reference == one["reference"]
    assert by_who == by_ref and reversed_name == by_ref
    assert "Phished mailbox" in by_ref.script and TOLL in by_ref.script


def test_near_misses_strangers_and_ambiguity_reveal_nothing(
    stores: Stores, mailed: tuple[str, list[dict[str, Any]]]
) -> None:
    _incident, letters = mailed
    one = letters[0]
    name = f"{one['first_name']} {one['last_name']}"
    p = domain_table("patients")
    affected = {x["patient_id"] for x in letters}
    with stores.engine.connect() as conn:
        stranger = (
            conn.execute(
                select(p.c.first_name, p.c.last_name, p.c.dob, p.c.zip)
                .where(p.c.patient_id.not_in(affected), p.c.zip.is_not(None))
                .limit(1)
            )
            .mappings()
            .one()
        )
        answers = [
            by_person(
                conn, name[:-1] + ("x" if name[-1] != "x" else "y"), one["dob"], one["zip"], TOLL
            ),
            by_person(conn, name, one["dob"] + timedelta(days=1), one["zip"], TOLL),
            by_person(conn, name, one["dob"], "99999", TOLL),
            by_person(conn, one["last_name"], one["dob"], one["zip"], TOLL),
            by_person(
                conn,
                f"{stranger['first_name']} {stranger['last_name']}",
                stranger["dob"],
                stranger["zip"],
                TOLL,
            ),
            by_reference(conn, "ZZZZ-9999", TOLL),
            by_reference(conn, "'; drop table breach_letters; --", TOLL),
        ]
    assert all(not a.affected and a.script == NOT_FOUND and a.incident is None for a in answers)
    twin = {k: one[k] for k in ("first_name", "last_name", "dob", "zip")}
    with stores.engine.begin() as conn:  # another patient with the same name, birth date and ZIP
        other = conn.execute(
            select(p.c.patient_id).where(p.c.patient_id.not_in(affected)).limit(1)
        ).scalar_one()
        conn.execute(update(p).where(p.c.patient_id == other).values(**twin))
    with stores.engine.connect() as conn:
        assert by_person(conn, name, one["dob"], one["zip"], TOLL).script == NOT_FOUND


def test_the_api_limits_each_agent_and_audits_every_lookup(
    stores: Stores, mailed: tuple[str, list[dict[str, Any]]]
) -> None:
    from phiwarden.store.web_tables import audit_log
    from phiwarden.web.api.notify import LOOKUPS

    _incident, letters = mailed
    LOOKUPS._seen.clear()
    add_user(stores.engine, "cal", "call_center", "correct horse battery")
    add_user(stores.engine, "cat", "call_center", "correct horse battery")
    first, second = (issue_token(stores.engine, n)[1] for n in ("cal", "cat"))
    with TestClient(create_app(stores, tick_seconds=None)) as client:
        codes = [
            client.post(
                "/api/lookup",
                headers={"Authorization": f"Bearer {first}"},
                json={"reference": f"AAAA-{n:04d}"},
            ).status_code
            for n in range(25)
        ]
        assert codes[:20] == [200] * 20 and set(codes[20:]) == {429}
        ok = client.post(
            "/api/lookup",
            headers={"Authorization": f"Bearer {second}"},
            json={"reference": letters[0]["reference"]},
        )
        assert ok.status_code == 200 and ok.json()["affected"] is True
        assert set(ok.json()) == {
            "affected",
            "incident",
            "reference",
            "credit_monitoring",
            "script",
        }
    with stores.engine.connect() as conn:
        logged = (
            conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "lookup"))
            .scalars()
            .all()
        )
    assert logged.count("cal") == 20 and logged.count("cat") == 1
    LOOKUPS._seen.clear()


def test_returned_mail_counts_toward_substitute_notice_and_a_new_address_remails(
    stores: Stores, mailed: tuple[str, list[dict[str, Any]]]
) -> None:
    incident, letters = mailed
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident)
        before = compute(conn, found)[1].insufficient_address  # type: ignore[arg-type]
    for letter in letters[:10]:
        mark_returned(stores, letter["reference"])
    correct_address(stores, letters[10]["reference"], "12 New Street, Springfield, MO 65801")
    with pytest.raises(LookupError):
        mark_returned(stores, "ZZZZ-0000")
    with stores.engine.connect() as conn:
        items, people = compute(conn, found)  # type: ignore[arg-type]
        status = dict(
            conn.execute(select(breach_letters.c.reference, breach_letters.c.status)).all()
        )
        returned = by_reference(conn, letters[0]["reference"], TOLL)
    assert people.insufficient_address == before + 10
    assert any(o.kind == "substitute_notice" and "90 days" in o.title for o in items)
    assert status[letters[10]["reference"]] == "remail"
    from phiwarden.breach.mailing import write_remail

    assert write_remail(stores.engine, incident, stores.settings.data_dir / "out") == 1
    assert "12 New Street" in (stores.settings.data_dir / "out" / "remail.csv").read_text()
    assert "came back undelivered" in returned.script


def test_obligation_reminders_reach_the_owner_by_smtp_once_per_stage(
    mailed: tuple[str, list[dict[str, Any]]], stores: Stores, tmp_path: Path
) -> None:
    """14 and 3 days before the due date and once overdue, on a clock the test moves; a
    real aiosmtpd server receives them; nothing twice, nothing after it is done."""
    from dataclasses import replace
    from datetime import datetime

    from aiosmtpd.controller import Controller

    from phiwarden.breach.proof import mark_done
    from phiwarden.breach.reminders import remind
    from phiwarden.cases.tick import tick
    from phiwarden.config import Smtp
    from phiwarden.store.setup import Stores as StoresType
    from test_cases_delivery import Inbox, _free_port

    incident, _letters = mailed
    inbox = Inbox()
    port = _free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    config = tmp_path / "config"
    config.mkdir()
    (config / "breach.toml").write_text(
        '[owners.default]\nname = "Pat Privacy"\nemail = "pat@hospital.example"\n'
    )
    live = StoresType(
        replace(stores.settings, smtp=Smtp("127.0.0.1", port), config_dir=config),
        stores.engine,
        stores.protector,
    )
    try:
        due = date(2026, 11, 20) + timedelta(days=60)  # the individuals' notice: 2027-01-19
        assert remind(live, datetime(2026, 12, 1, 9)) == 0
        first = remind(live, datetime.combine(due - timedelta(days=14), datetime.min.time()))
        assert (
            first > 0
            and remind(live, datetime.combine(due - timedelta(days=13), datetime.min.time())) == 0
        )
        tick(live, datetime.combine(due - timedelta(days=13), datetime.min.time()))
        assert len(inbox.messages) == first
        assert all(m["to"] == ["pat@hospital.example"] for m in inbox.messages)
        assert any(
            "Due in 14 days: individuals (US) by 2027-01-19" in m["data"] for m in inbox.messages
        )
        assert not any("Phished" in m["data"] or "MRN" in m["data"] for m in inbox.messages), (
            "no PHI"
        )
        mark_done(live, incident, "individuals:US", actor="po", note="mailed 2027-01-05")
        later = datetime.combine(due + timedelta(days=1), datetime.min.time())
        remind(live, later)
        tick(live, later)
        overdue = [m for m in inbox.messages if "OVERDUE" in m["data"]]
        assert overdue and not any("individuals (US)" in m["data"] for m in overdue), (
            "done: no reminder"
        )
    finally:
        server.stop()
