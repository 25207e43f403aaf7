"""Deliver the outbox: e-mail notices over SMTP, HL7 v2 messages over MLLP.

A message is marked sent only when the server took it (SMTP accepted it; the HL7
receiver answered MSA-1 AA or CA). Otherwise it stays pending with the error and a later
attempt time, backing off from one minute to an hour. Run by every tick.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select, update

from phiwarden.config import Smtp
from phiwarden.ingest.hl7_er7 import decode
from phiwarden.ingest.mllp import MllpFramer, frame
from phiwarden.store.case_tables import case_outbox
from phiwarden.store.setup import Stores

TIMEOUT = 10.0
BATCH = 200


class DeliveryError(RuntimeError):
    """The receiving server did not take the message."""


@dataclass(frozen=True)
class Delivered:
    """What one pass over the outbox did."""

    sent: int
    failed: int
    waiting: int


def send_email(smtp: Smtp, to: str, subject: str, body: str) -> None:
    """Send one notice through the configured server."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, to, subject
    msg.set_content(body)
    server: smtplib.SMTP
    if smtp.tls == "ssl":
        server = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
    with server:
        if smtp.tls == "starttls":
            server.starttls(context=ssl.create_default_context())
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
        server.send_message(msg)


def send_hl7(destination: str, text: str) -> str:
    """Send one message over MLLP and wait for its ACK; the ACK's MSA-1."""
    host, _, port = destination.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(frame(text.encode()))
        framer = MllpFramer()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise DeliveryError("the receiver closed the connection without an ACK")
            got = framer.feed(chunk)
            if got:
                break
    ack = decode(got[0])
    msa = next((s for s in ack.replace("\n", "\r").split("\r") if s.startswith("MSA")), "")
    code = msa.split("|")[1] if "|" in msa else ""
    if code not in ("AA", "CA"):
        raise DeliveryError(f"the receiver answered {code or 'no MSA'}")
    return code


def deliver(stores: Stores, now: datetime) -> Delivered:
    """Send every message whose time has come; how many went, failed and still wait."""
    pending = (case_outbox.c.sent_at.is_(None), case_outbox.c.next_attempt_at <= now)
    with stores.engine.connect() as conn:
        rows = (
            conn.execute(
                select(case_outbox).where(*pending).order_by(case_outbox.c.message_id).limit(BATCH)
            )
            .mappings()
            .all()
        )
    sent = failed = 0
    smtp = stores.settings.smtp
    for row in rows:
        body = stores.protector.fernet.decrypt(row["body_encrypted"]).decode()
        error: str | None = None
        try:
            if row["channel"] == "email":
                if smtp is None:
                    raise DeliveryError("no SMTP server is set (PHIWARDEN_SMTP_HOST)")
                send_email(smtp, row["destination"], row["subject"] or "", body)
            else:
                send_hl7(row["destination"], body)
        except (OSError, smtplib.SMTPException, DeliveryError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = row["attempts"] + 1
        with stores.engine.begin() as conn:
            values: dict[str, object] = {"attempts": attempts, "last_error": error}
            if error is None:
                values["sent_at"] = now
                sent += 1
            else:
                values["next_attempt_at"] = now + timedelta(minutes=min(2 ** (attempts - 1), 60))
                failed += 1
            conn.execute(
                update(case_outbox)
                .where(
                    case_outbox.c.message_id == row["message_id"], case_outbox.c.sent_at.is_(None)
                )
                .values(**values)
            )
    with stores.engine.connect() as conn:
        waiting = conn.execute(
            select(func.count()).select_from(case_outbox).where(case_outbox.c.sent_at.is_(None))
        ).scalar_one()
    return Delivered(sent, failed, int(waiting))
