"""The outbox delivered for real: task notices through a local SMTP server (aiosmtpd,
with and without credentials), and the separation's HL7 v2 messages over MLLP to a
listener that answers with an ACK, or a NAK that leaves the message to retry."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from conftest import ingest_and_scan
from phiwarden.cases import theft, transition
from phiwarden.cases.tick import tick
from phiwarden.config import Smtp, load_settings
from phiwarden.ingest.mllp import MllpFramer, frame
from phiwarden.store.case_tables import case_outbox
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from test_cases import PO, T0, _papers

PEOPLE = """
[people."Admissions Director"]
name = "Ada Admissions"
email = "ada@hospital.example"
[people."Business Office Director or Manager"]
name = "Bo Billing"
email = "bo@hospital.example"
[people."Privacy Officer"]
name = "Pat Privacy"
email = "pat@hospital.example"
[contacts]
law_enforcement = "HSI, (251) 441-5739"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps what arrives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {"to": list(envelope.rcpt_tos), "data": envelope.content.decode("utf8", "replace")}
        )
        return "250 OK"


class Downstream(socketserver.ThreadingTCPServer):
    """A real MLLP listener: keeps each message and answers MSA|AA (or ``answer``)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, answer: str = "AA") -> None:
        self.received: list[str] = []
        self.answer = answer

        class Handler(socketserver.BaseRequestHandler):
            def handle(inner) -> None:
                framer = MllpFramer()
                while True:
                    data = inner.request.recv(65536)
                    if not data:
                        return
                    for payload in framer.feed(data):
                        text = payload.decode()
                        self.received.append(text)
                        control = text.split("\r")[0].split("|")[9]
                        ack = f"MSH|^~\\&|RIS||PHIWARDEN||20261201||ACK|A{control}|P|2.5.1\rMSA|{self.answer}|{control}"
                        inner.request.sendall(frame(ack.encode()))

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    server = Downstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ingested(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SQLite store with the small hospital, scanned, copied per test."""
    root = tmp_path_factory.mktemp("delivery")
    stores, _ = initialise(load_settings(root / "data", f"sqlite:///{root / 'store.db'}"))
    ingest_and_scan(stores, small_hospital)
    stores.engine.dispose()
    yield root


def _stores(ingested: Path, tmp_path: Path, smtp: Smtp | None, downstream: str = "") -> Stores:
    import shutil

    shutil.copytree(ingested / "data", tmp_path / "data")
    shutil.copy(ingested / "store.db", tmp_path / "store.db")
    config = tmp_path / "config"
    config.mkdir()
    (config / "casework.toml").write_text(PEOPLE + downstream)
    settings = load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'store.db'}")
    settings = replace(settings, config_dir=config, smtp=smtp, base_url="https://pw.example")
    from phiwarden.store.setup import open_stores

    return open_stores(settings)


def _flag_of(stores: Stores, small_hospital: Path, scenario: str) -> tuple[str, dict[str, Any]]:
    truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
    with stores.engine.connect() as conn:
        for t in truth:
            if t["scenario"] != scenario:
                continue
            row = conn.execute(
                select(red_flags.c.flag_id).where(
                    red_flags.c.registration_id == t["registration_id"]
                )
            ).first()
            if row:
                p = domain_table("patients")
                victim = conn.execute(select(p).where(p.c.mrn == t["mrn"])).mappings().one()
                return str(row[0]), dict(victim)
    raise AssertionError(f"no flagged {scenario} theft")


@pytest.mark.parametrize("credentials", [False, True])
def test_task_notices_arrive_by_smtp_without_patient_data(
    ingested: Path, small_hospital: Path, tmp_path: Path, credentials: bool
) -> None:
    inbox = Inbox()
    port = _free_port()
    auth = {}
    if credentials:
        auth = {
            "auth_require_tls": False,
            "authenticator": lambda server, session, envelope, mechanism, data: type(
                "R", (), {"success": data.login == b"phiwarden" and data.password == b"s3cret"}
            )(),
        }
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **auth)
    controller.start()
    try:
        smtp = Smtp(
            "127.0.0.1",
            port,
            "none",
            user="phiwarden" if credentials else None,
            password="s3cret" if credentials else None,
            sender="phiwarden@hospital.example",
        )
        stores = _stores(ingested, tmp_path, smtp)
        flag_id, victim = _flag_of(stores, small_hospital, "returned_mail")
        case_id = theft.from_flag(stores, flag_id, actor="a", now=T0).case_id
        result = tick(stores, T0 + timedelta(minutes=1))
        assert result.delivery.sent >= 3 and result.delivery.failed == 0
    finally:
        controller.stop()
    to = sorted({r for m in inbox.messages for r in m["to"]})
    assert to == ["ada@hospital.example", "bo@hospital.example", "pat@hospital.example"]
    for m in inbox.messages:
        assert case_id in m["data"] and f"https://pw.example/cases/{case_id}" in m["data"]
        for private in (
            victim["mrn"],
            victim["last_name"],
            victim["first_name"],
            str(victim["dob"]),
        ):
            assert private not in m["data"], "a notice must carry no patient data"
    assert tick(stores, T0 + timedelta(minutes=2)).delivery.sent == 0, "sent once"


def test_without_smtp_nothing_is_queued_and_tasks_still_show(
    ingested: Path, small_hospital: Path, tmp_path: Path
) -> None:
    stores = _stores(ingested, tmp_path, None)
    flag_id, _victim = _flag_of(stores, small_hospital, "fraud_phone")
    case_id = theft.from_flag(stores, flag_id, actor="a", now=T0).case_id
    with stores.engine.connect() as conn:
        assert conn.execute(select(case_outbox)).first() is None
        from phiwarden.cases.casefile import open_tasks

        assert {t["case_id"] for t in open_tasks(conn)} == {case_id}


def test_separation_messages_reach_the_downstream_listener_with_their_ack(
    ingested: Path, small_hospital: Path, tmp_path: Path, downstream: Downstream
) -> None:
    config = f'\n[[downstream]]\nname = "RIS"\naddress = "127.0.0.1:{downstream.port}"\n'
    stores = _stores(ingested, tmp_path, None, config)
    flag_id, victim = _flag_of(stores, small_hospital, "blood_type_conflict")
    case_id = theft.from_flag(stores, flag_id, actor="a", now=T0).case_id
    rev = _papers(stores, case_id, T0)
    rev = transition.fire(stores, case_id, "substantiate", revision=rev, **PO)["revision"]
    transition.fire(stores, case_id, "separate", revision=rev, inputs={"offender": "unknown"}, **PO)
    result = tick(stores, datetime.now() + timedelta(minutes=1))
    assert result.delivery.failed == 0 and result.delivery.waiting == 0
    kinds = [m.split("\r")[0].split("|")[8].split("^")[1] for m in downstream.received]
    assert "A45" in kinds and "A08" in kinds
    a45 = next(m for m in downstream.received if "ADT^A45" in m)
    segments = {s[:3]: s for s in a45.split("\r")}
    assert segments["MRG"].startswith(f"MRG|{victim['mrn']}^")
    assert "299975" in segments["PID"] or "299918" in segments["PID"]
    assert "|Theft^Identity " in segments["PID"], "the visit now carries the placeholder name"
    assert str(victim["dob"]).replace("-", "") in segments["PID"], (
        "and the victim's demographics (IX.8a)"
    )
    with stores.engine.connect() as conn:
        rows = (
            conn.execute(select(case_outbox).where(case_outbox.c.channel == "hl7")).mappings().all()
        )
    assert rows and all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows)


def test_a_nak_leaves_the_message_pending_with_the_error_and_a_later_attempt(
    ingested: Path, small_hospital: Path, tmp_path: Path
) -> None:
    refusing = Downstream(answer="AE")
    threading.Thread(target=refusing.serve_forever, daemon=True).start()
    try:
        config = f'\n[[downstream]]\nname = "LAB"\naddress = "127.0.0.1:{refusing.port}"\n'
        stores = _stores(ingested, tmp_path, None, config)
        flag_id, _victim = _flag_of(stores, small_hospital, "blood_type_conflict")
        case_id = theft.from_flag(stores, flag_id, actor="a", now=T0).case_id
        rev = _papers(stores, case_id, T0)
        rev = transition.fire(stores, case_id, "substantiate", revision=rev, **PO)["revision"]
        transition.fire(
            stores, case_id, "separate", revision=rev, inputs={"offender": "unknown"}, **PO
        )
        now = datetime.now() + timedelta(minutes=1)
        first = tick(stores, now)
        assert first.delivery.sent == 0 and first.delivery.failed > 0
        with stores.engine.connect() as conn:
            row = (
                conn.execute(select(case_outbox).where(case_outbox.c.channel == "hl7"))
                .mappings()
                .first()
            )
        assert row is not None and "AE" in row["last_error"] and row["sent_at"] is None
        assert row["next_attempt_at"] > now
        assert tick(stores, now).delivery.failed == 0, "not retried before its time"
        refusing.answer = "AA"
        later = tick(stores, now + timedelta(hours=2))
        assert later.delivery.sent == first.delivery.failed
    finally:
        refusing.shutdown()
        refusing.server_close()
