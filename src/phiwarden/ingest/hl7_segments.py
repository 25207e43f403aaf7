"""Map HL7 v2 ADT segments to canonical records (PID, NK1, GT1, IN1/IN2, PV1, MRG, OBX).

Each function reads one segment (or a segment and its companion) and returns raw
canonical rows: dicts of strings, typed and validated later by the shared loader. Dates
and times are converted here so that a bad one names its field in the quarantine reason
(never its value). Keys are deterministic so that re-reading a message adds nothing:

- a record id the message carries is used as is (PID-3 type PI, PV1-19, PV1-50, and
  identifier type RI in NK1-33, GT1-2 and IN1-49);
- otherwise the key is the patient id plus a digest of what identifies the record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from phiwarden.domain.enums import ContactKind
from phiwarden.formats import hl7_codes as codes
from phiwarden.ingest.hl7_er7 import Hl7Error, Segment

Row = dict[str, str | None]

_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TS = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?")
_ZONE = re.compile(r"[+-]\d{4}$")
_KINDS = frozenset(k.value for k in ContactKind)


def digest(*parts: str | None) -> str:
    """A short stable digest of the values that identify a record (for derived keys)."""
    text = "\x1f".join(p or "" for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def hl7_date(value: str, label: str) -> str | None:
    """An HL7 DT/DTM value as ISO ``YYYY-MM-DD`` (time of day ignored); None when empty."""
    if not value:
        return None
    m = _DATE.match(value)
    try:
        if m is None:
            raise ValueError(value)
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise Hl7Error(f"{label} is not a date: write it as YYYYMMDD", error_code="102") from None


def hl7_timestamp(value: str, label: str) -> str | None:
    """An HL7 DTM value as an ISO timestamp; a zone offset is dropped (canonical times are
    the health system's wall clock). None when empty."""
    if not value:
        return None
    m = _TS.fullmatch(_ZONE.sub("", value))
    try:
        if m is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in m.groups()[:6])
        frac = int((m[7] or "0").ljust(6, "0"))
        return datetime(year, month, day, hour, minute, second, frac).isoformat()
    except ValueError:
        raise Hl7Error(
            f"{label} is not a date and time: write it as YYYYMMDDHHMMSS", error_code="102"
        ) from None


def _none(value: str) -> str | None:
    return value or None


def phone_text(seg: Segment, rep: str) -> str:
    """An XTN repetition as one phone number: XTN-1, else country/area/local/extension."""
    text = seg.comp(rep, 1) or seg.comp(rep, 12)
    if not text:
        area, local, ext = seg.comp(rep, 6), seg.comp(rep, 7), seg.comp(rep, 8)
        if len(local) == 7 and local.isdigit():
            local = f"{local[:3]}-{local[3:]}"
        text = "-".join(p for p in (area, local) if p)
        text = f"{text} x{ext}" if text and ext else text
    return text


def address_parts(seg: Segment, rep: str) -> tuple[str, str, str, str]:
    """An XAD repetition as (line, city, state, postal code)."""
    street, other = seg.comp(rep, 1), seg.comp(rep, 2)
    line = f"{street} {other}".strip() if other else street
    return line, seg.comp(rep, 3), seg.comp(rep, 4), seg.comp(rep, 5)


def record_id(seg: Segment, n: int) -> str | None:
    """The repetition of CX field ``n`` typed RI (a record id the sender assigned)."""
    for rep in seg.reps(n):
        if seg.comp(rep, 5).upper() == codes.RECORD_ID_TYPE and seg.comp(rep, 1):
            return seg.comp(rep, 1)
    return None


def patient_key(pid: Segment) -> tuple[str, str]:
    """(patient id, MRN) of a PID, without the demographics a registration needs."""
    mrn, patient_id, _ = _identifiers(pid)
    return patient_id or mrn, mrn


def person_id(seg: Segment, n: int) -> str | None:
    """The id (first component) of the first repetition of an XCN or CE field."""
    return _none(seg.get(n))


@dataclass
class Person:
    """What a PID says: the patient row, address and phone history, identity documents."""

    patient: Row
    addresses: list[Row] = field(default_factory=list)
    phones: list[Row] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)
    drivers_license: str | None = None


def _identifiers(pid: Segment) -> tuple[str, str | None, dict[str, str]]:
    mrn, pid_id, others, untyped = "", None, dict[str, str](), ""
    for rep in pid.reps(3):
        number, kind = pid.comp(rep, 1), pid.comp(rep, 5).upper()
        if not number:
            continue
        if kind == codes.MRN_TYPE and not mrn:
            mrn = number
        elif kind == codes.PATIENT_ID_TYPE and pid_id is None:
            pid_id = number
        elif not kind and not untyped:
            untyped = number
        elif kind:
            others.setdefault(kind, number)
    mrn = mrn or untyped
    if not mrn:
        raise Hl7Error("PID-3 holds no medical record number: send it with identifier type MR")
    return mrn, pid_id or pid.get(2) or None, others


def _names(pid: Segment) -> tuple[str, str, str, str | None]:
    reps = pid.reps(5)
    current = [r for r in reps if pid.comp(r, 7).upper() not in codes.PREVIOUS_NAME_TYPES]
    legal = next((r for r in current if pid.comp(r, 7).upper() == "L"), None)
    name = legal or (current[0] if current else reps[0] if reps else "")
    last = pid.comp(name, 1)
    if not last:
        raise Hl7Error("PID-5 (patient name) has no family name: send it in PID-5.1")
    previous = [
        ", ".join(p for p in (pid.comp(r, 1), pid.comp(r, 2)) if p)
        for r in reps
        if pid.comp(r, 7).upper() in codes.PREVIOUS_NAME_TYPES and pid.comp(r, 1)
    ]
    return last, pid.comp(name, 2), pid.comp(name, 3), ";".join(previous) or None


def person(pid: Segment) -> Person:
    """The patient a PID describes, with addresses (PID-11) and phones (PID-13, PID-14)."""
    mrn, patient_id, others = _identifiers(pid)
    patient_id = patient_id or mrn
    last, first, middle, previous = _names(pid)
    dob = hl7_date(pid.get(7), "PID-7 (date of birth)")
    if dob is None:
        raise Hl7Error("PID-7 (date of birth) is empty: a patient record needs one (YYYYMMDD)")
    out = Person(
        {
            "patient_id": patient_id,
            "mrn": mrn,
            "first_name": _none(first),
            "middle_name": _none(middle),
            "last_name": last,
            "previous_names": previous,
            "dob": dob,
            "sex": _none(pid.get(8).upper()),
            "ssn": _none(pid.get(19)) or others.get(codes.SSN_TYPE),
            "deceased_date": hl7_date(pid.get(29), "PID-29 (date of death)"),
        },
        documents=others,
        drivers_license=_none(pid.get(20)),
    )
    _read_addresses(pid, out)
    _read_phones(pid, out)
    return out


def _read_addresses(pid: Segment, out: Person) -> None:
    current: tuple[str, str, str, str] | None = None
    for i, rep in enumerate(pid.reps(11), start=1):
        line, city, state, zip_code = address_parts(pid, rep)
        if not line:
            continue
        start = hl7_date(pid.comp(rep, 13), f"PID-11 repetition {i} effective date")
        end = hl7_date(pid.comp(rep, 14), f"PID-11 repetition {i} expiration date")
        if current is None and end is None and pid.comp(rep, 7).upper() not in ("BA", "M"):
            current = (line, city, state, zip_code)
        pid_key = out.patient["patient_id"]
        out.addresses.append(
            {
                "address_id": f"{pid_key}-AD-{digest(line, city, state, zip_code, start)}",
                "patient_id": pid_key,
                "address_line": line,
                "city": _none(city),
                "state": _none(state),
                "zip": _none(zip_code),
                "valid_from": start,
                "valid_to": end,
            }
        )
    if current is None and out.addresses:
        first = out.addresses[0]
        current = (
            first["address_line"] or "",
            first["city"] or "",
            first["state"] or "",
            first["zip"] or "",
        )
    if current is not None:
        for key, value in zip(("address_line", "city", "state", "zip"), current, strict=True):
            out.patient[key] = _none(value)


def _read_phones(pid: Segment, out: Person) -> None:
    pid_key = out.patient["patient_id"]
    for n in (13, 14):
        for rep in pid.reps(n):
            use, equipment = pid.comp(rep, 2).upper(), pid.comp(rep, 3).upper()
            if use == codes.EMAIL_USE[0] or equipment in ("INTERNET", "X.400"):
                email = pid.comp(rep, 4) or pid.comp(rep, 1)
                if email and not out.patient.get("email"):
                    out.patient["email"] = email
                continue
            number = phone_text(pid, rep)
            if not number:
                continue
            kind = (
                "work"
                if n == 14 or use == "WPN"
                else "mobile"
                if equipment in ("CP", "BP")
                else "home"
            )
            if n == 13 and not out.patient.get("phone"):
                out.patient["phone"] = number
            out.phones.append(
                {
                    "phone_id": f"{pid_key}-PH-{digest(kind, number)}",
                    "patient_id": pid_key,
                    "phone": number,
                    "kind": kind,
                }
            )


def _contact(
    patient_id: str,
    kind: str,
    seg: Segment,
    name: str,
    relation: tuple[str, str],
    address: str,
    phone: str,
    contact_id: str | None,
) -> Row:
    last, first = seg.comp(name, 1), seg.comp(name, 2)
    relationship = codes.relationship_word(*relation)
    line, city, state, zip_code = address_parts(seg, address) if address else ("", "", "", "")
    key = contact_id or f"{patient_id}-{kind[:2].upper()}-{digest(kind, last, first)}"
    return {
        "contact_id": key,
        "patient_id": patient_id,
        "kind": kind,
        "first_name": _none(first),
        "last_name": _none(last),
        "relationship": relationship,
        "address_line": _none(line),
        "city": _none(city),
        "state": _none(state),
        "zip": _none(zip_code),
        "phone": _none(phone_text(seg, phone) if phone else ""),
    }


def _first(seg: Segment, n: int) -> str:
    reps = seg.reps(n)
    return reps[0] if reps else ""


def nk1_contact(patient_id: str, nk1: Segment) -> Row | None:
    """An NK1 as a next-of-kin or emergency contact (None for an employer or no name)."""
    role = nk1.get(7).upper()
    if role == codes.EMPLOYER_ROLE or not nk1.get(2):
        return None
    kind = codes.ROLE_KIND.get(role) or (role.lower() if role.lower() in _KINDS else None)
    return _contact(
        patient_id,
        kind or ContactKind.NEXT_OF_KIN.value,
        nk1,
        _first(nk1, 2),
        (nk1.get(3, 1), nk1.get(3, 2)),
        _first(nk1, 4),
        _first(nk1, 5),
        record_id(nk1, 33),
    )


def nk1_employee(nk1: Segment) -> str | None:
    """The patient's employee number from an employer NK1 (NK1-7 E, NK1-12)."""
    return _none(nk1.get(12)) if nk1.get(7).upper() == codes.EMPLOYER_ROLE else None


def gt1_contact(patient_id: str, gt1: Segment) -> Row | None:
    """A GT1 as a guarantor contact (None when the patient guarantees their own account)."""
    relation = (gt1.get(11, 1), gt1.get(11, 2))
    if codes.relationship_word(*relation) == "self" or not gt1.get(3):
        return None
    return _contact(
        patient_id,
        ContactKind.GUARANTOR.value,
        gt1,
        _first(gt1, 3),
        relation,
        _first(gt1, 5),
        _first(gt1, 6),
        record_id(gt1, 2),
    )


def coverage(patient_id: str, in1: Segment, in2: Segment | None) -> tuple[Row, Row | None] | None:
    """An IN1 (with its IN2) as a coverage, and the subscriber as a contact when the IN1
    gives another person's address (IN1-19) or phone (IN2-63). None without a member id."""
    payer = in1.get(4) or in1.get(3) or in1.get(2, 2) or in1.get(2)
    member = in1.get(36) or next(
        (
            in1.comp(r, 1)
            for r in in1.reps(49)
            if in1.comp(r, 5).upper() != codes.RECORD_ID_TYPE and in1.comp(r, 1)
        ),
        "",
    )
    if not payer or not member:
        return None
    cov_id = record_id(in1, 49) or f"{patient_id}-CV-{digest(payer, member)}"
    relation = codes.relationship_word(in1.get(17, 1), in1.get(17, 2))
    name = _first(in1, 16)
    row: Row = {
        "coverage_id": cov_id,
        "patient_id": patient_id,
        "payer": payer,
        "member_id": member,
        "subscriber_first_name": _none(in1.comp(name, 2)) if name else None,
        "subscriber_last_name": _none(in1.comp(name, 1)) if name else None,
        "subscriber_dob": hl7_date(in1.get(18), "IN1-18 (insured's date of birth)"),
        "subscriber_relationship": codes.INVERSE_RELATIONSHIP.get(relation, relation)
        if relation
        else None,
    }
    phone = _first(in2, 63) if in2 is not None else ""
    address = _first(in1, 19)
    subscriber = None
    if relation not in (None, "self") and name and (address or phone):
        subscriber = _contact(
            patient_id,
            ContactKind.SUBSCRIBER.value,
            in1,
            name,
            (in1.get(17, 1), in1.get(17, 2)),
            address,
            "",
            f"{cov_id}-SUB",
        )
        if phone and in2 is not None:
            subscriber["phone"] = _none(phone_text(in2, phone))
    return row, subscriber


def blood_type(obx: Segment) -> str | None:
    """The ABO/Rh group of an OBX coded with LOINC 882-1, else None."""
    if obx.get(3, 1) == codes.BLOOD_TYPE_LOINC or "ABO" in obx.get(3, 2).upper():
        return _none(obx.get(5, 1))
    return None


@dataclass(frozen=True)
class Visit:
    """What a PV1 says about the visit."""

    encounter: Row | None
    registration_id: str | None
    facility_id: str | None
    vip: bool


def visit(pv1: Segment, patient_id: str, event_time: str | None) -> Visit:
    """A PV1 as an encounter (when it has a visit number and a patient class)."""
    klass, patient_type = pv1.get(2).upper(), pv1.get(18).upper()
    number = pv1.get(19)
    kind = (
        "telehealth" if patient_type in codes.TELEHEALTH_TYPES else codes.ENCOUNTER_TYPE.get(klass)
    )
    facility = _none(pv1.get(3, 4))
    encounter: Row | None = None
    if number and klass != "N":
        encounter = {
            "encounter_id": number,
            "patient_id": patient_id,
            "type": kind,
            "department_id": _none(pv1.get(3, 1)),
            "facility_id": facility,
            "start": hl7_timestamp(pv1.get(44), "PV1-44 (admit date/time)") or event_time,
            "end": hl7_timestamp(pv1.get(45), "PV1-45 (discharge date/time)"),
            "attending_user_id": _none(pv1.get(7)),
        }
    return Visit(encounter, _none(pv1.get(50)), facility, vip_flag(pv1))


def vip_flag(pv1: Segment) -> bool:
    """PV1-16 VIP indicator: any value but N/NO/0 marks a VIP."""
    return pv1.get(16).upper() not in ("", "N", "NO", "0")


def merge(pid_patient: Row, mrg: Segment, when: str | None, operator: str | None) -> Row:
    """An MRG under a PID as a merge of the prior record into the PID's patient."""
    prior_mrn, prior_id, untyped = "", "", ""
    for rep in mrg.reps(1):
        number, kind = mrg.comp(rep, 1), mrg.comp(rep, 5).upper()
        if kind == codes.MRN_TYPE and not prior_mrn:
            prior_mrn = number
        elif kind == codes.PATIENT_ID_TYPE and not prior_id:
            prior_id = number
        elif not kind and not untyped:
            untyped = number
    prior_mrn = prior_mrn or untyped
    if not prior_mrn:
        raise Hl7Error(
            "MRG-1 holds no prior medical record number: send it with identifier type MR"
        )
    survivor = pid_patient["patient_id"] or ""
    return {
        "merge_id": f"{survivor}-MG-{digest(prior_mrn)}",
        "surviving_patient_id": survivor,
        "merged_patient_id": prior_id or _none(mrg.get(4)),
        "merged_mrn": prior_mrn,
        "merged_at": when,
        "merged_by_user_id": operator,
    }
