"""Caller verification for prescription refills: the corrective action of the snooping
case (seed 000), where the call centre now asks for one more identifier.

A caller is checked against the patient on file with the configured identifiers: the
required ones (name and date of birth by default) and at least one more (last four of the
SSN, the address on file, or the phone on file). It fails closed: anything missing,
unreadable or not matching is "not verified", and the answer never says which identifier
failed or whether the MRN exists. After ``max_failures`` failed attempts on one patient the
patient is locked for ``lock_minutes`` and a red flag (FTC-18, cannot answer challenge
questions) is raised. Every attempt is stored with the identifiers offered, never their
values; the API and the page also write it to the audit trail.

The settings are in ``CONFIG/caller_verification.toml`` (the defaults below when absent).
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, func, insert, select

from phiwarden.identity.addresses import address_key, zip5
from phiwarden.identity.phones import e164
from phiwarden.store.program_tables import caller_attempts
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

Factor = Literal["name", "dob", "ssn4", "address", "phone"]
FLAG_CODE = "FTC-18"


class CallerSettings(BaseModel):
    """Which identifiers a caller must give, and the lock-out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: tuple[Factor, ...] = ("name", "dob")
    one_of: tuple[Factor, ...] = ("ssn4", "address", "phone")
    max_failures: int = Field(3, ge=1, le=20)
    lock_minutes: int = Field(60, ge=1, le=7 * 24 * 60)


def load_settings(config_dir: Path | None) -> CallerSettings:
    """The hospital's caller-verification settings; ValueError names the file and field."""
    path = None if config_dir is None else config_dir / "caller_verification.toml"
    if path is None or not path.is_file():
        return CallerSettings()
    try:
        return CallerSettings.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}".splitlines()[0]) from exc


class Caller(BaseModel):
    """What the caller said, as the agent typed it."""

    mrn: str = Field(min_length=1, max_length=64)
    first_name: str = Field("", max_length=128)
    last_name: str = Field("", max_length=128)
    dob: date | None = None
    ssn4: str = Field("", max_length=4)
    address: str = Field("", max_length=255)
    zip: str = Field("", max_length=10)
    phone: str = Field("", max_length=32)


@dataclass(frozen=True)
class Outcome:
    """The answer the agent sees: nothing about which identifier failed."""

    verified: bool
    locked: bool
    attempts_left: int
    patient_id: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        """What the API returns (the patient id stays inside: the page links by MRN)."""
        return {
            "verified": self.verified,
            "locked": self.locked,
            "attempts_left": self.attempts_left,
            "message": self.message,
        }


def _fold(value: str | None) -> str:
    text = unicodedata.normalize("NFKD", value or "")
    return "".join(c for c in text if c.isalnum()).upper()


def _same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two normalised values; empty never matches."""
    x, y = _fold(a), _fold(b)
    return bool(x) and bool(y) and hmac.compare_digest(x.encode(), y.encode())


def _offered(caller: Caller) -> set[str]:
    offered = set()
    if caller.first_name.strip() and caller.last_name.strip():
        offered.add("name")
    if caller.dob is not None:
        offered.add("dob")
    if caller.ssn4.strip():
        offered.add("ssn4")
    if caller.address.strip() and caller.zip.strip():
        offered.add("address")
    if caller.phone.strip():
        offered.add("phone")
    return offered


def _matches(factor: str, caller: Caller, p: dict[str, Any]) -> bool:
    if factor == "name":
        return _same(caller.first_name, p["first_name"]) and _same(caller.last_name, p["last_name"])
    if factor == "dob":
        return caller.dob is not None and p["dob"] is not None and caller.dob == p["dob"]
    if factor == "ssn4":
        return _same(caller.ssn4, p["ssn_last4"])
    if factor == "address":
        return _same(address_key(caller.address), address_key(p["address_line"] or "")) and _same(
            zip5(caller.zip), zip5(p["zip"] or "")
        )
    if factor == "phone":
        return _same(e164(caller.phone), e164(p["phone"] or ""))
    return False


def _checks(settings: CallerSettings, caller: Caller, patient: dict[str, Any] | None) -> bool:
    """True only when every required identifier and at least one more are given and all
    given ones match; anything else, including an error, is False (fail closed)."""
    if patient is None:
        return False
    try:
        offered = _offered(caller)
        if not set(settings.required) <= offered:
            return False
        extra = offered & set(settings.one_of)
        if settings.one_of and not extra:
            return False
        return all(_matches(f, caller, patient) for f in set(settings.required) | extra)
    except Exception:  # a check that cannot be made is a failure
        return False


def _key(caller: Caller, patient: dict[str, Any] | None) -> str:
    """Whom the attempts count against: the patient, or an unknown MRN as given (so an
    unknown number locks too, and the answer does not tell the two apart)."""
    return str(patient["patient_id"]) if patient else f"mrn:{caller.mrn.strip()[:60]}"


def _recent_failures(conn: Connection, key: str, since: datetime) -> list[datetime]:
    """The failed attempts on ``key`` after ``since`` and after the last success, newest
    first."""
    a = caller_attempts.c
    last_ok = conn.execute(
        select(func.max(a.at)).where(a.patient_id == key, a.outcome == "verified")
    ).scalar()
    start = max(since, last_ok) if last_ok else since
    rows = conn.execute(
        select(a.at)
        .where(a.patient_id == key, a.outcome == "failed", a.at > start)
        .order_by(a.at.desc())
    ).scalars()
    return list(rows)


def verify(
    stores: Stores,
    caller: Caller,
    *,
    agent: str,
    purpose: str = "prescription_refill",
    now: datetime | None = None,
) -> Outcome:
    """Check a caller against the patient with that MRN; record the attempt; lock and raise
    a red flag after repeated failures."""
    settings = load_settings(stores.settings.hospital_config)
    at = (now or datetime.now()).replace(microsecond=0)
    p = domain_table("patients")
    with stores.engine.begin() as conn:
        found = (
            conn.execute(
                select(
                    p.c.patient_id,
                    p.c.mrn,
                    p.c.first_name,
                    p.c.last_name,
                    p.c.dob,
                    p.c.ssn_last4,
                    p.c.address_line,
                    p.c.zip,
                    p.c.phone,
                ).where(p.c.mrn == caller.mrn.strip())
            )
            .mappings()
            .first()
        )
        patient = dict(found) if found else None
        key = _key(caller, patient)
        # serialise attempts on one patient (PostgreSQL); SQLite's writer lock does so
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
        window = at - timedelta(minutes=settings.lock_minutes)
        recent = _recent_failures(conn, key, window)
        failures = len(recent)
        offered = sorted(_offered(caller))
        if failures >= settings.max_failures:
            _record(conn, key, at, agent, purpose, offered, "locked")
            unlock = recent[settings.max_failures - 1]
            return Outcome(False, True, 0, None, _locked_message(settings, unlock))
        ok = _checks(settings, caller, patient)
        _record(conn, key, at, agent, purpose, offered, "verified" if ok else "failed")
        if ok:
            return Outcome(
                True, False, settings.max_failures, key, "Verified: go on with the request."
            )
        failures += 1
        left = max(settings.max_failures - failures, 0)
        if left == 0:
            _raise_flag(conn, patient, key, at, agent, failures)
            unlock = [at, *recent][settings.max_failures - 1]
            return Outcome(False, True, 0, None, _locked_message(settings, unlock))
        return Outcome(
            False,
            False,
            left,
            None,
            "Not verified: the details do not match our records. Do not give out any "
            f"information or refill anything. {left} attempt(s) left.",
        )


def _locked_message(settings: CallerSettings, since: datetime) -> str:
    until = since + timedelta(minutes=settings.lock_minutes)
    return (
        "Not verified, and locked after repeated failed attempts: do not give out any "
        f"information or refill anything; transfer the caller to the privacy office. "
        f"Locked until {until:%Y-%m-%d %H:%M}."
    )


def _record(
    conn: Connection,
    key: str,
    at: datetime,
    agent: str,
    purpose: str,
    offered: list[str],
    outcome: str,
) -> None:
    conn.execute(
        insert(caller_attempts).values(
            patient_id=key,
            at=at,
            agent=agent,
            purpose=purpose[:32],
            factors=offered,
            outcome=outcome,
        )
    )


def _raise_flag(
    conn: Connection, patient: dict[str, Any] | None, key: str, at: datetime, agent: str, n: int
) -> None:
    """A red flag for the patient (or the unknown MRN) locked by failed verifications."""
    flag_id = (
        "RF"
        + hashlib.sha256(f"{FLAG_CODE}|caller|{key}|{at.isoformat()}".encode()).hexdigest()[:22]
    )
    conn.execute(
        insert(red_flags).values(
            flag_id=flag_id,
            code=FLAG_CODE,
            detector="caller_verification",
            severity="medium",
            patient_id=patient["patient_id"] if patient else None,
            mrn=patient["mrn"] if patient else key.removeprefix("mrn:"),
            registration_id=None,
            account_id=None,
            user_id=None,
            evidence=[
                f"{n} failed caller verification(s) for a prescription refill; the last taken "
                f"by call-centre agent {agent} at {at:%Y-%m-%d %H:%M}: the caller could not "
                "give identifiers matching the record"
            ],
            detected_at=at,
            occurred_at=at,
            status="open",
        )
    )


def attempts(conn: Connection, key: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest attempts on one patient (for the privacy office)."""
    a = caller_attempts.c
    rows = conn.execute(
        select(caller_attempts)
        .where(a.patient_id == key)
        .order_by(a.at.desc(), a.attempt_id.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
