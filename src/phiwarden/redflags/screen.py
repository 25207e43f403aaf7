"""Real-time screening of one registration at the front desk.

Nothing is retrained or scanned: the registration's own identifiers are checked by rule,
candidates come from index lookups on the blocking keys in the operational store, and
they are scored with the stored parameters of the last ``phiwarden link``. The answer
lists the flags with their evidence and the action the program prescribes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import Connection, select

from phiwarden.identity.index import candidates, latest_model
from phiwarden.identity.model import describe, score
from phiwarden.identity.names import clean_name, split_full_name
from phiwarden.identity.records import normalise_persons
from phiwarden.redflags.catalogue import BY_CODE, SEVERITY_RANK, Action, Detection
from phiwarden.redflags.checks import Watch, registration_hits
from phiwarden.store.case_tables import patient_alerts
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

_STOP = {Action.STOP_AND_VERIFY, Action.SUSPEND_COLLECTION, Action.REVIEW_RECORDS}


class Eligibility(BaseModel):
    """The payer's X12 271 answer for the member, when the desk has it."""

    model_config = ConfigDict(extra="forbid")
    first_name: str | None = None
    last_name: str | None = None
    dob: date | None = None
    aaa_code: str | None = None
    ins_changed: bool = False


class Registration(BaseModel):
    """One registration to screen (docs/identity.md#screening lists every field)."""

    model_config = ConfigDict(extra="forbid")
    mrn: str | None = Field(None, description="The chart it is filed to; empty for a new patient.")
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = Field(None, description="Instead of first/last: split by nameparser.")
    dob: date | None = None
    sex: Literal["M", "F", "U"] | None = None
    ssn: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    phone: str | None = None
    payer: str | None = None
    member_id: str | None = None
    id_type: str | None = None
    id_checked: bool = False
    photo_on_file: bool = False
    attestations: list[str] = Field(
        default_factory=list,
        description="Catalogue codes staff record (e.g. FTC-05 the ID looks altered).",
    )
    eligibility: Eligibility | None = None

    @field_validator("attestations")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            flag = BY_CODE.get(code)
            if flag is None:
                raise ValueError(f"unknown red flag code {code!r}")
            if flag.detection == Detection.AUTOMATIC:
                raise ValueError(f"{code} is detected automatically; it cannot be attested")
        return list(dict.fromkeys(codes))

    def names(self) -> tuple[str | None, str | None]:
        """(first, last), from the separate fields or the full name."""
        if self.first_name or self.last_name or not self.full_name:
            return self.first_name, self.last_name
        first, _middle, last = split_full_name(self.full_name)
        return first or None, last or None


def _flag(code: str, detector: str, evidence: list[str] | tuple[str, ...]) -> dict[str, Any]:
    flag = BY_CODE[code]
    return {
        "code": code,
        "title": flag.title,
        "severity": flag.severity.value,
        "detector": detector,
        "evidence": list(evidence),
        "action": flag.action.value,
        "action_text": flag.action_text,
    }


def _patient(conn: Connection, mrn: str) -> dict[str, Any] | None:
    p = domain_table("patients")
    row = conn.execute(select(p).where(p.c.mrn == mrn)).mappings().first()
    return dict(row) if row else None


def _ssn_owners(conn: Connection, ssn_hash: str) -> list[dict[str, Any]]:
    p = domain_table("patients")
    cols = (p.c.patient_id, p.c.mrn, p.c.first_name, p.c.last_name, p.c.dob)
    return [dict(r) for r in conn.execute(select(*cols).where(p.c.ssn_hash == ssn_hash)).mappings()]


def _member_owners(conn: Connection, member_id: str) -> list[str]:
    cov, p = domain_table("coverages"), domain_table("patients")
    query = (
        select(p.c.mrn)
        .select_from(cov.join(p, p.c.patient_id == cov.c.patient_id))
        .where(cov.c.member_id == member_id)
    )
    return [str(m) for (m,) in conn.execute(query)]


def _watch(conn: Connection) -> Watch:
    fw = domain_table("fraud_watch")
    return Watch.from_rows([dict(r) for r in conn.execute(select(fw)).mappings()])


def _same_name(a: str | None, b: str | None) -> bool:
    x, y = clean_name(a or ""), clean_name(b or "")
    return bool(x and y and JaroWinkler.similarity(x, y) >= 0.85)


def screen(stores: Stores, reg: Registration) -> dict[str, Any]:
    """Screen one registration: flags, evidence, matches, and the prescribed action.

    Every lookup shares one connection: on PostgreSQL each checkout is a round trip.
    """
    with stores.engine.connect() as conn:
        return screen_on(conn, stores, reg)


def screen_on(conn: Connection, stores: Stores, reg: Registration) -> dict[str, Any]:
    """``screen`` on a connection the caller holds (the server's warm-up runs it on each
    pooled connection, so no request meets a database session's first queries)."""
    first, last = reg.names()
    person = pa.table(
        {
            "record_id": ["screened"],
            "first_name": [first],
            "last_name": [last],
            "dob": [reg.dob.isoformat() if reg.dob else None],
            "sex": [reg.sex],
            "ssn": [reg.ssn],
            "address": [reg.address_line],
            "city": [reg.city],
            "state": [reg.state],
            "zip": [reg.zip],
            "phone": [reg.phone],
            "member_id": [reg.member_id],
        }
    )
    record = normalise_persons(person, stores.protector.keyed_hash).to_pylist()[0]
    on_file = _patient(conn, reg.mrn) if reg.mrn else None
    if reg.mrn and on_file is None:
        raise ValueError(f"no patient with MRN {reg.mrn}: leave mrn empty for a new patient")
    flags: list[dict[str, Any]] = []
    matches: list[dict[str, Any]] = []
    model = latest_model(conn)
    if model is not None:
        params, threshold = model
        for cand in candidates(conn, record):
            s = score(params, record, cand)
            if s.probability >= threshold:
                matches.append(
                    {
                        "mrn": cand["mrn"],
                        "match_probability": round(s.probability, 4),
                        "agreeing": describe(s.levels),
                    }
                )
        matches.sort(key=lambda m: -m["match_probability"])
    owners = _ssn_owners(conn, record["ssn_hash"]) if record["ssn_hash"] else []
    same_person = [o for o in owners if _same_name(o["last_name"], last) and o["dob"] == reg.dob]
    known = on_file is not None or bool(matches) or bool(same_person)
    fields = {
        "presented_first_name": first,
        "presented_last_name": last,
        "presented_dob": reg.dob,
        "presented_address_line": reg.address_line,
        "presented_zip": reg.zip,
        "presented_phone": reg.phone,
        "id_type": reg.id_type,
        "photo_on_file": reg.photo_on_file,
    }
    for code, detector, found in registration_hits(
        fields, _watch(conn), reg.ssn, new_patient=not known
    ):
        flags.append(_flag(code, detector, found))
    own_mrns = {reg.mrn} if reg.mrn else {m["mrn"] for m in matches[:1]}
    own_mrns |= {o["mrn"] for o in same_person}
    if owners:
        for other in owners:
            if other["mrn"] in own_mrns:
                continue
            if not _same_name(other["last_name"], last) and other["dob"] != reg.dob:
                flags.append(
                    _flag(
                        "FTC-14",
                        "shared_ssn",
                        [f"the SSN is on file for MRN {other['mrn']}, a different person"],
                    )
                )
                break
    if on_file is not None:
        evidence: list[str] = []
        if reg.dob and on_file["dob"] and reg.dob != on_file["dob"]:
            evidence.append(f"date of birth presented {reg.dob}, on file {on_file['dob']}")
        if reg.sex and on_file["sex"] and reg.sex != on_file["sex"]:
            evidence.append(f"sex presented {reg.sex}, on file {on_file['sex']}")
        previous = [n.split(",")[0] for n in (on_file["previous_names"] or "").split(";") if n]
        if last and not any(_same_name(last, n) for n in [on_file["last_name"], *previous]):
            evidence.append("last name presented is not the name on file nor a previous name")
        if evidence:
            flags.append(_flag("FTC-17", "inconsistent_with_file", evidence))
    if reg.member_id:
        members = set(_member_owners(conn, reg.member_id))
        evidence = []
        if members and not members & own_mrns:
            evidence.append(f"member id is on file as the coverage of MRN {sorted(members)[0]}")
        elig = reg.eligibility
        if elig is not None:
            if elig.last_name and last and not _same_name(elig.last_name, last):
                evidence.append(
                    "the payer's last name for the member differs from the one presented"
                )
            if elig.dob and reg.dob and elig.dob != reg.dob:
                evidence.append(
                    "the payer's date of birth for the member differs from the one presented"
                )
            if evidence and elig.aaa_code == "75":
                evidence.append("payer answered subscriber not found (AAA 75)")
            if evidence and elig.ins_changed:
                evidence.append("payer changed identifying data from the request (INS*Y)")
        if evidence:
            flags.append(_flag("HC-INSURANCE", "insurance_identity", evidence))
    for code in reg.attestations:
        flags.append(_flag(code, "attestation", ["recorded by registration staff"]))
    flags.sort(key=lambda f: (-SEVERITY_RANK[f["severity"]], f["code"]))
    alerts = registration_alerts(conn, own_mrns | {m["mrn"] for m in matches[:1]})
    stop = any(BY_CODE[f["code"]].action in _STOP and f["severity"] != "low" for f in flags)
    if alerts:
        decision, action = "stop", alerts[0]["action"]
    elif stop:
        decision, action = "stop", flags[0]["action_text"]
    elif flags:
        decision, action = "proceed", "Proceed, and record the flags on the registration."
    else:
        decision, action = "proceed", "No red flags: proceed with the registration."
    return {
        "decision": decision,
        "action": action,
        "flags": flags,
        "matches": matches[:5],
        "problems": record["problems"].split("; ") if record["problems"] else [],
        "linkage_model": model is not None,
        "alerts": alerts,
    }


def registration_alerts(conn: Connection, mrns: set[str]) -> list[dict[str, Any]]:
    """Active registration alerts on the charts with these MRNs (an identity-theft case
    puts "Alleged identity theft - positive ID required" on the victim's chart)."""
    if not mrns:
        return []
    p = domain_table("patients")
    a = patient_alerts.c
    rows = conn.execute(
        select(p.c.mrn, a.text, a.action, a.case_id, a.placed_at)
        .select_from(patient_alerts.join(p, p.c.patient_id == a.patient_id))
        .where(p.c.mrn.in_(sorted(mrns)), a.removed_at.is_(None))
        .order_by(a.placed_at)
    ).mappings()
    return [{**r, "placed_at": r["placed_at"].isoformat()} for r in rows]
