"""HL7 v2 messages that tell downstream systems of a record separation (seed 003 IX.8):
ADT^A45 (move visit information) per encounter, ADT^A44 (move account information) per
account, and ADT^A08 (update patient information) for the name on each visit.

They are written to the outbox in the transaction that moves the records, so a move and
its messages commit or vanish together; ``delivery`` sends them over MLLP and waits for
each ACK. The bodies hold patient data, so the outbox keeps them encrypted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from phiwarden.cases.effects import Ctx
from phiwarden.cases.people import load_endpoints
from phiwarden.formats.hl7_encoding import escape
from phiwarden.ingest.hl7_ack import APPLICATION, VERSION
from phiwarden.store.case_tables import case_outbox


def _ts(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S")


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _msh(event: str, structure: str, at: datetime, receiver: str) -> str:
    control = "PW" + uuid.uuid4().hex[:18]  # MSH-10 holds 20 characters, unique per message
    return (
        f"MSH|^~\\&|{APPLICATION}|{APPLICATION}|{_e(receiver)}||{_ts(at)}||"
        f"ADT^{event}^{structure}|{control}|P|{VERSION}"
    )


def _pid(chart: dict[str, Any], demographics: dict[str, Any], account: str | None = None) -> str:
    """PID with the chart's MRN and name; date of birth, sex and address from
    ``demographics`` (the victim's, for a placeholder chart: IX.8a)."""
    dob = demographics.get("dob")
    address = "^".join(
        _e(demographics.get(k)) for k in ("address_line", "city", "state", "zip")
    ).replace("^", "^^", 1)
    return (
        f"PID|1||{_e(chart['mrn'])}^^^^MR||{_e(chart.get('last_name'))}^"
        f"{_e(chart.get('first_name'))}||{dob.strftime('%Y%m%d') if dob else ''}|"
        f"{_e(demographics.get('sex'))}|||{address}|||||||{_e(account)}"
    )


def messages(
    source: dict[str, Any],
    target: dict[str, Any],
    encounters: Sequence[str],
    accounts: Sequence[str],
    demographics: dict[str, Any],
    at: datetime,
    receiver: str,
) -> list[str]:
    """The A45, A44 and A08 messages for a move from ``source`` to ``target``; the PID
    carries ``target``'s MRN and name and ``demographics``' birth date, sex and address."""
    out: list[str] = []
    for encounter_id in encounters:
        out.append(
            "\r".join(
                (
                    _msh("A45", "ADT_A45", at, receiver),
                    f"EVN|A45|{_ts(at)}",
                    _pid(target, demographics),
                    f"MRG|{_e(source['mrn'])}^^^^MR||||{_e(encounter_id)}",
                    f"PV1|1|U|||||||||||||||||{_e(encounter_id)}",
                )
            )
        )
    for account_id in accounts:
        out.append(
            "\r".join(
                (
                    _msh("A44", "ADT_A43", at, receiver),
                    f"EVN|A44|{_ts(at)}",
                    _pid(target, demographics, account_id),
                    f"MRG|{_e(source['mrn'])}^^^^MR||{_e(account_id)}",
                )
            )
        )
    for encounter_id in encounters:
        out.append(
            "\r".join(
                (
                    _msh("A08", "ADT_A01", at, receiver),
                    f"EVN|A08|{_ts(at)}",
                    _pid(target, demographics),
                    f"PV1|1|U|||||||||||||||||{_e(encounter_id)}",
                )
            )
        )
    return out


def queue_moves(
    ctx: Ctx,
    source: dict[str, Any],
    target: dict[str, Any],
    encounters: Sequence[str],
    accounts: Sequence[str],
    demographics: dict[str, Any],
) -> int:
    """Write the move's messages for every downstream endpoint to the outbox; how many.
    ``demographics`` is the victim's for a placeholder chart (IX.8a), else the target's."""
    endpoints = load_endpoints(ctx.stores.settings.hospital_config)
    n = 0
    for endpoint in endpoints:
        texts = messages(source, target, encounters, accounts, demographics, ctx.now, endpoint.name)
        for text in texts:
            ctx.conn.execute(
                insert(case_outbox).values(
                    case_id=ctx.case_id,
                    channel="hl7",
                    destination=f"{endpoint.host}:{endpoint.port}",
                    subject=text.split("\r", 1)[0].split("|")[8],
                    body_encrypted=ctx.stores.protector.fernet.encrypt(text.encode()),
                    created_at=ctx.now,
                    attempts=0,
                    next_attempt_at=ctx.now,
                )
            )
            n += 1
    if n:
        ctx.event(
            "outbox",
            f"{n} HL7 message(s) queued for {len(endpoints)} downstream system(s)",
            cites="IX.8d-g",
        )
    elif encounters:
        ctx.event("outbox", "No downstream systems are set: verify each by hand", cites="IX.8d-g")
    return n
