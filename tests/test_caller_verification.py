"""Caller verification for prescription refills: fails closed, locks a patient after
repeated failures, raises a red flag, records every attempt without the values offered,
and answers the same whether the MRN exists or which identifier was wrong."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import ingest_and_scan
from phiwarden.redflags.caller import Caller, attempts, verify
from phiwarden.store.program_tables import caller_attempts
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

T0 = datetime(2026, 12, 1, 10, 0)


def _patient(stores: Stores) -> dict[str, object]:
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        row = (
            conn.execute(
                select(p).where(p.c.ssn_last4.is_not(None), p.c.dob.is_not(None)).order_by(p.c.mrn)
            )
            .mappings()
            .first()
        )
    assert row is not None
    return dict(row)


def _right(p: dict[str, object], **change: object) -> Caller:
    base = {
        "mrn": p["mrn"],
        "first_name": str(p["first_name"]).lower(),
        "last_name": f" {p['last_name']} ",
        "dob": p["dob"],
        "ssn4": p["ssn_last4"],
    }
    return Caller.model_validate(base | change)


def test_verifies_only_with_the_extra_identifier(stores: Stores, small_hospital: Path) -> None:
    ingest_and_scan(stores, small_hospital)
    p = _patient(stores)
    assert verify(stores, _right(p), agent="cc1", now=T0).verified
    # name and date of birth alone are not enough: one more identifier is required
    assert not verify(stores, _right(p, ssn4=""), agent="cc1", now=T0).verified
    # an address in another spelling still matches; a wrong one does not
    if p["address_line"] and p["zip"]:
        line = str(p["address_line"]).upper()
        ok = verify(stores, _right(p, ssn4="", address=line, zip=p["zip"]), agent="cc1", now=T0)
        assert ok.verified
        bad = verify(
            stores, _right(p, ssn4="", address="1 Nowhere Rd", zip=p["zip"]), agent="cc1", now=T0
        )
        assert not bad.verified


def test_locks_out_raises_a_flag_and_leaks_nothing(stores: Stores, small_hospital: Path) -> None:
    ingest_and_scan(stores, small_hospital)
    p = _patient(stores)
    wrong_ssn = "0000" if p["ssn_last4"] != "0000" else "1111"
    answers = [
        verify(stores, _right(p, ssn4=wrong_ssn), agent="cc1", now=T0 + timedelta(minutes=i))
        for i in range(3)
    ]
    assert [a.attempts_left for a in answers] == [2, 1, 0]
    assert [a.locked for a in answers] == [False, False, True]
    # locked: even the right answers are refused until the lock passes
    locked = verify(stores, _right(p), agent="cc2", now=T0 + timedelta(minutes=10))
    assert not locked.verified and locked.locked
    later = verify(stores, _right(p), agent="cc2", now=T0 + timedelta(minutes=63))
    assert later.verified
    with stores.engine.connect() as conn:
        flags = (
            conn.execute(select(red_flags).where(red_flags.c.detector == "caller_verification"))
            .mappings()
            .all()
        )
        rows = attempts(conn, str(p["patient_id"]))
        stored = conn.execute(select(caller_attempts)).mappings().all()
    assert [(f["code"], f["patient_id"]) for f in flags] == [("FTC-18", p["patient_id"])]
    assert [r["outcome"] for r in rows][::-1] == [
        "failed",
        "failed",
        "failed",
        "locked",
        "verified",
    ]
    # the attempts keep which identifiers were offered, never their values
    assert all(set(r["factors"]) <= {"name", "dob", "ssn4", "address", "phone"} for r in stored)
    assert set(stored[0]) == {
        "attempt_id",
        "patient_id",
        "at",
        "agent",
        "purpose",
        "factors",
        "outcome",
    }
    # the answer is the same for a wrong identifier and for an MRN that does not exist
    other = _right(p, mrn="NO-SUCH-MRN")
    unknown = verify(stores, other, agent="cc1", now=T0 + timedelta(hours=3))
    wrong = verify(
        stores, _right(p, dob=None, ssn4=wrong_ssn), agent="cc1", now=T0 + timedelta(hours=3)
    )
    assert unknown.as_json() == wrong.as_json()
    assert "ssn" not in unknown.message.lower() and "birth" not in unknown.message.lower()


def test_a_hospital_can_require_other_identifiers(stores: Stores, small_hospital: Path) -> None:
    ingest_and_scan(stores, small_hospital)
    p = _patient(stores)
    config = stores.settings.hospital_config
    config.mkdir(parents=True, exist_ok=True)
    (config / "caller_verification.toml").write_text(
        'required = ["name", "dob"]\none_of = ["phone"]\nmax_failures = 2\n'
    )
    # the SSN is no longer one of the accepted extra identifiers
    assert not verify(stores, _right(p), agent="cc1", now=T0).verified
    (config / "caller_verification.toml").write_text('one_of = ["fingerprint"]\n')
    with pytest.raises(ValueError, match=r"caller_verification\.toml"):
        verify(stores, _right(p), agent="cc1", now=T0)
