"""Checks of one registration's own identifiers, shared by the scan and real-time screening.

Each returns the findings' (code, detector, evidence) for what the person presented,
without looking anything up: SSN rules (FTC-10, FTC-11), address type and phone validity
(FTC-13), required information (FTC-16), and the fraud watch list (FTC-12) given as a
prepared set of normalised values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from phiwarden.identity.addresses import address_key, address_type, postcode
from phiwarden.identity.phones import e164, phone_problem
from phiwarden.identity.ssn import RANDOMISATION, check_ssn, ssn_dob_mismatch

Hit = tuple[str, str, tuple[str, ...]]

#: Fields a registration must carry (seed program IV.A: full name, date of birth,
#: address, and a government ID or, without one, a photo taken at the desk).
REQUIRED = (
    "presented_first_name",
    "presented_last_name",
    "presented_dob",
    "presented_address_line",
)


def ssn_hits(ssn: str | None, dob: date | None, *, new_patient: bool = True) -> list[Hit]:
    """FTC-10 never issued or advertising; FTC-11 issued after randomisation to an adult.

    FTC-11 is checked when a new patient's identity is first taken (opening the account):
    people who immigrate get numbers as adults, so an established patient's number, seen
    and billed before, is not re-flagged at every visit.
    """
    if not ssn:
        return []
    check = check_ssn(ssn, dob)
    if check.malformed:
        return []
    if check.never_issued:
        return [("FTC-10", "ssn_never_issued", (f"SSN was never issued: {check.never_issued}",))]
    if new_patient and ssn_dob_mismatch(check) and dob is not None:
        return [
            (
                "FTC-11",
                "ssn_dob_mismatch",
                (
                    f"SSN area {check.digits and check.digits[:3]} was only issued from "
                    f"{RANDOMISATION.isoformat()}; born {dob.isoformat()}, so at least "
                    f"{check.age_at_issue} years old at issue",
                ),
            )
        ]
    return []


def watch_key_address(line: str | None, zip_code: str | None) -> str | None:
    """The watch-list key of an address: normalised line and postcode."""
    if not line:
        return None
    key = address_key(line)
    code = postcode(zip_code) if zip_code else None
    return f"{key}|{code or ''}" if key else None


def watch_key_entry(kind: str, value: str) -> str | None:
    """The key of a watch-list entry: an E.164 phone, or 'line, city, ST zip' address."""
    if kind == "phone":
        return e164(value)
    line, _, rest = value.partition(",")
    tail = rest.strip().split(" ")[-1] if rest.strip() else ""
    return watch_key_address(line, tail if any(c.isdigit() for c in tail) else None)


@dataclass
class Watch:
    """The fraud watch list prepared for lookups: key -> (watch id, reason)."""

    addresses: dict[str, tuple[str, str]] = field(default_factory=dict)
    phones: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Watch:
        """Build from ``fraud_watch`` rows (watch_id, kind, value, reason)."""
        out = cls()
        for r in rows:
            key = watch_key_entry(str(r["kind"]), str(r["value"]))
            if key is None:
                continue
            target = out.phones if r["kind"] == "phone" else out.addresses
            target[key] = (str(r["watch_id"]), str(r.get("reason") or "on the watch list"))
        return out


def watch_hits(reg: Mapping[str, Any], watch: Watch) -> list[Hit]:
    """FTC-12: the presented address or phone is on the fraud watch list."""
    hits: list[Hit] = []
    key = watch_key_address(reg.get("presented_address_line"), reg.get("presented_zip"))
    if key and key in watch.addresses:
        wid, why = watch.addresses[key]
        hits.append(
            ("FTC-12", "watch_address", (f"address is on the fraud watch list ({wid}: {why})",))
        )
    phone = e164(str(reg["presented_phone"])) if reg.get("presented_phone") else None
    if phone and phone in watch.phones:
        wid, why = watch.phones[phone]
        hits.append(
            ("FTC-12", "watch_phone", (f"phone is on the fraud watch list ({wid}: {why})",))
        )
    return hits


def type_hits(reg: Mapping[str, Any]) -> list[Hit]:
    """FTC-13: a mail-drop or prison address, or a phone number that cannot be valid."""
    hits: list[Hit] = []
    line = reg.get("presented_address_line")
    kind = address_type(str(line)) if line else None
    if kind and kind[0] in ("mail_drop", "prison"):
        hits.append(("FTC-13", f"address_{kind[0]}", (f"address is a {kind[1].lower()}",)))
    phone = reg.get("presented_phone")
    problem = phone_problem(str(phone)) if phone else None
    if problem:
        hits.append(("FTC-13", "invalid_phone", (f"phone {problem}",)))
    return hits


def missing_hits(reg: Mapping[str, Any]) -> list[Hit]:
    """FTC-16: a required field is empty, or neither an ID nor a photo is on file."""
    missing = [f.removeprefix("presented_").replace("_", " ") for f in REQUIRED if not reg.get(f)]
    if not reg.get("id_type") and not reg.get("photo_on_file"):
        missing.append("government ID (and no photo taken)")
    if not missing:
        return []
    return [("FTC-16", "missing_information", (f"missing: {', '.join(missing)}",))]


def registration_hits(
    reg: Mapping[str, Any], watch: Watch, ssn: str | None, *, new_patient: bool = True
) -> list[Hit]:
    """Every self-contained check of one registration."""
    dob = reg.get("presented_dob")
    if isinstance(dob, str):
        dob = date.fromisoformat(dob)
    return [
        *ssn_hits(ssn, dob, new_patient=new_patient),
        *watch_hits(reg, watch),
        *type_hits(reg),
        *missing_hits(reg),
    ]
