"""Build the HL7 v2.5.1 ADT segments of the synthetic hospital from canonical rows.

Each function returns one segment as ER7 text with the standard delimiters
(``|^~\\&``); values are escaped, trailing empty fields dropped. The fields and codes
are exactly the ones ``phiwarden.ingest.hl7_segments`` reads (see the mapping table in
``phiwarden.ingest.hl7v2``), so that the reader gets every value back.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from phiwarden.formats import hl7_codes as codes
from phiwarden.formats.hl7_encoding import escape

Row = dict[str, Any]
AUTHORITY = "PHIWARDEN"
SENDER = "PHIWARDEN-SYNTH"
VERSION = "2.5.1"
EMPLOYER_NAME = "PHIWARDEN SYNTHETIC HEALTH SYSTEM"
STRUCTURE = {
    "A01": "ADT_A01",
    "A04": "ADT_A01",
    "A08": "ADT_A01",
    "A28": "ADT_A05",
    "A31": "ADT_A05",
    "A40": "ADT_A39",
}


def e(value: object) -> str:
    """One escaped value ('' for None)."""
    return "" if value is None else escape(str(value))


def ts(value: datetime) -> str:
    """An HL7 DTM: YYYYMMDDHHMMSS, with four decimals of a second when there are any."""
    text = value.strftime("%Y%m%d%H%M%S")
    return f"{text}.{value.microsecond // 100:04d}" if value.microsecond else text


def dt(value: date | None) -> str:
    """An HL7 DT: YYYYMMDD ('' for None)."""
    return value.strftime("%Y%m%d") if value is not None else ""


def segment(name: str, fields: dict[int, str]) -> str:
    """A segment from its fields by number (HL7 numbering; MSH-2 is the encoding
    characters), dropping trailing empty fields."""
    last = max((n for n, v in fields.items() if v), default=0)
    first = 2 if name == "MSH" else 1
    return "|".join([name, *(fields.get(n, "") for n in range(first, last + 1))])


def comps(*values: str) -> str:
    """Join already-escaped components with ``^``, dropping trailing empty ones."""
    parts = list(values)
    while parts and parts[-1] == "":
        parts.pop()
    return "^".join(parts)


def cx(number: object, kind: str) -> str:
    """A CX identifier assigned by the synthetic hospital, with its type (table 0203)."""
    return comps(e(number), "", "", AUTHORITY, kind)


def xad(
    line: object,
    city: object,
    state: object,
    zip_code: object,
    *,
    start: date | None = None,
    end: date | None = None,
) -> str:
    """A home address (XAD) with its effective and expiration dates when known."""
    fields = [e(line), "", e(city), e(state), e(zip_code), "USA", "H"]
    if start or end:
        fields += [""] * 5 + [dt(start), dt(end)]
    return comps(*fields)


def xtn(number: object, kind: str) -> str:
    """A phone number (XTN) of a canonical kind: home, mobile or work."""
    use, equipment = codes.PHONE_USE.get(kind, codes.PHONE_USE["home"])
    return comps(e(number), use, equipment)


def xcn(user_id: object, workforce: dict[str, Row]) -> str:
    """A workforce member as XCN: user id, family name, given name."""
    if not user_id:
        return ""
    who = workforce.get(str(user_id), {})
    return comps(e(user_id), e(who.get("last_name")), e(who.get("first_name")))


def relationship(word: str | None) -> str:
    """A relationship word as a table-0063 coded element."""
    if not word:
        return ""
    code, text = codes.relationship_code(word)
    return comps(code, e(text), "HL70063")


def payer_code(payer: str) -> str:
    """A short payer identifier derived from its name (as the X12 writer does)."""
    return re.sub(r"[^A-Z0-9]", "", payer.upper())[:10] or "PAYER"


def msh(when: datetime, facility: str, trigger: str, control: str) -> str:
    """The message header."""
    msg_type = f"ADT^{trigger}^{STRUCTURE[trigger]}"
    return segment(
        "MSH",
        {
            2: "^~\\&",
            3: SENDER,
            4: e(facility),
            5: AUTHORITY,
            6: AUTHORITY,
            7: ts(when),
            9: msg_type,
            10: control,
            11: "P",
            12: VERSION,
        },
    )


def evn(trigger: str, when: datetime, operator: str = "", facility: str = "") -> str:
    """The event: recorded and occurred time, operator (EVN-5) and facility (EVN-7)."""
    return segment("EVN", {1: trigger, 2: ts(when), 5: operator, 6: ts(when), 7: e(facility)})


def _names(p: Row) -> str:
    reps = [
        comps(e(p["last_name"]), e(p.get("first_name")), e(p.get("middle_name")), "", "", "", "L")
    ]
    previous_type = "M" if (p.get("sex") or "").upper() == "F" else "B"
    for name in filter(None, (p.get("previous_names") or "").split(";")):
        last, _, first = name.partition(",")
        reps.append(comps(e(last.strip()), e(first.strip()), "", "", "", "", previous_type))
    return "~".join(reps)


def pid_mpi(p: Row, addresses: list[Row], phones: list[Row]) -> str:
    """The PID of the MPI record: identifiers, names, address and phone history, death."""
    current = (p.get("address_line"), p.get("city"), p.get("state"), p.get("zip"))
    history = sorted(
        addresses,
        key=lambda a: (
            a.get("valid_to") is not None,
            (a["address_line"], a.get("city"), a.get("state"), a.get("zip")) != current,
            a["address_id"],
        ),
    )
    addr = [
        xad(
            a["address_line"],
            a.get("city"),
            a.get("state"),
            a.get("zip"),
            start=a.get("valid_from"),
            end=a.get("valid_to"),
        )
        for a in history
    ]
    if not history and p.get("address_line"):
        addr.append(xad(*current))
    home = sorted(
        (x for x in phones if x.get("kind") != "work"),
        key=lambda x: (x["phone"] != p.get("phone"), x["phone_id"]),
    )
    tel = [xtn(x["phone"], x.get("kind") or "home") for x in home]
    if not phones and p.get("phone"):
        tel.append(xtn(p["phone"], "home"))
    if p.get("email"):
        tel.append(comps("", *codes.EMAIL_USE, e(p["email"])))
    work = [xtn(x["phone"], "work") for x in phones if x.get("kind") == "work"]
    dead = p.get("deceased_date")
    ids = f"{cx(p['mrn'], 'MR')}~{cx(p['patient_id'], 'PI')}"
    return segment(
        "PID",
        {
            1: "1",
            3: ids,
            5: _names(p),
            7: dt(p.get("dob")),
            8: e(p.get("sex")),
            11: "~".join(addr),
            13: "~".join(tel),
            14: "~".join(work),
            19: e(p.get("ssn")),
            29: dt(dead),
            30: "Y" if dead else "",
        },
    )


def pid_presented(r: Row, mrn: str) -> str:
    """The PID of a registration: the identity the person presented at check-in."""
    ids = [cx(mrn, "MR"), cx(r["patient_id"], "PI")]
    kind = r.get("id_type")
    licence = ""
    if kind == "drivers_license":
        licence = e(r.get("id_number"))
    elif kind and r.get("id_number"):
        ids.append(cx(r["id_number"], codes.ID_DOCUMENT_TYPES.get(kind, kind.upper())))
    address = xad(
        r.get("presented_address_line"),
        r.get("presented_city"),
        r.get("presented_state"),
        r.get("presented_zip"),
    )
    name = comps(
        e(r.get("presented_last_name")), e(r.get("presented_first_name")), "", "", "", "", "L"
    )
    phone = xtn(r["presented_phone"], "home") if r.get("presented_phone") else ""
    return segment(
        "PID",
        {
            1: "1",
            3: "~".join(ids),
            5: name,
            7: dt(r.get("presented_dob")),
            8: e(r.get("presented_sex")),
            11: address if r.get("presented_address_line") else "",
            13: phone,
            19: e(r.get("presented_ssn")),
            20: licence,
        },
    )


def _contact_address(c: Row) -> str:
    if not c.get("address_line"):
        return ""
    return xad(c["address_line"], c.get("city"), c.get("state"), c.get("zip"))


def nk1(n: int, c: Row) -> str:
    """A next-of-kin or emergency contact (NK1-7 N or C), its id typed RI in NK1-33."""
    role = codes.CONTACT_ROLE.get(c["kind"], e(c["kind"]))
    return segment(
        "NK1",
        {
            1: str(n),
            2: comps(e(c.get("last_name")), e(c.get("first_name"))),
            3: relationship(c.get("relationship")),
            4: _contact_address(c),
            5: xtn(c["phone"], "home") if c.get("phone") else "",
            7: role,
            33: cx(c["contact_id"], codes.RECORD_ID_TYPE),
        },
    )


def nk1_employer(n: int, user_id: str) -> str:
    """The patient's employer (NK1-7 E) with their employee number (NK1-12)."""
    return segment(
        "NK1", {1: str(n), 7: codes.EMPLOYER_ROLE, 12: cx(user_id, "EI"), 13: e(EMPLOYER_NAME)}
    )


def patient_class(enc: Row) -> str:
    """PV1-2 patient class of an encounter (table 0004)."""
    return codes.PATIENT_CLASS.get(enc.get("type") or "", ("O", ""))[0]


def pv1(
    klass: str,
    *,
    enc: Row | None = None,
    registration_id: str | None = None,
    workforce: dict[str, Row] | None = None,
    vip: bool = False,
) -> str:
    """The visit: class, location (department^^^facility), attending, VIP, visit number,
    admit and discharge, and the registration id as alternate visit id (PV1-50)."""
    f = {1: "1", 2: klass, 16: "VIP" if vip else ""}
    if enc is not None:
        _, patient_type = codes.PATIENT_CLASS.get(enc.get("type") or "", ("", ""))
        f[3] = comps(e(enc.get("department_id")), "", "", e(enc.get("facility_id")))
        f[7] = xcn(enc.get("attending_user_id"), workforce or {})
        f[18] = patient_type
        f[19] = cx(enc["encounter_id"], "VN")
        f[44] = ts(enc["start"]) if enc.get("start") else ""
        f[45] = ts(enc["end"]) if enc.get("end") else ""
    if registration_id:
        f[50] = cx(registration_id, codes.RECORD_ID_TYPE)
    return segment("PV1", f)


def obx_blood_type(value: str) -> str:
    """The ABO/Rh group as an observation coded with LOINC 882-1."""
    code = f"{codes.BLOOD_TYPE_LOINC}^ABO and Rh group^LN"
    return segment("OBX", {1: "1", 2: "ST", 3: code, 5: e(value), 11: "F"})


def gt1(n: int, c: Row) -> str:
    """A guarantor other than the patient, its contact id typed RI in GT1-2."""
    return segment(
        "GT1",
        {
            1: str(n),
            2: cx(c["contact_id"], codes.RECORD_ID_TYPE),
            3: comps(e(c.get("last_name")), e(c.get("first_name"))),
            5: _contact_address(c),
            6: xtn(c["phone"], "home") if c.get("phone") else "",
            11: relationship(c.get("relationship")),
        },
    )


def in1(n: int, cov: Row, subscriber: Row | None) -> list[str]:
    """IN1 (and IN2 with the subscriber's phone) for a coverage; IN1-19 carries the
    subscriber's address when the subscriber is another person on file as a contact."""
    payer = cov.get("payer") or ""
    code = payer_code(payer)
    own = (cov.get("subscriber_relationship") or "").lower()
    insured = codes.INVERSE_RELATIONSHIP.get(own, own) if own else ""
    f = {
        1: str(n),
        2: comps(code, e(payer)),
        3: cx(code, "NIIP"),
        4: e(payer),
        16: comps(e(cov.get("subscriber_last_name")), e(cov.get("subscriber_first_name"))),
        17: relationship(insured) if insured else "",
        18: dt(cov.get("subscriber_dob")),
        36: e(cov.get("member_id")),
        49: cx(cov["coverage_id"], codes.RECORD_ID_TYPE),
    }
    if subscriber is not None:
        f[19] = _contact_address(subscriber)
    out = [segment("IN1", f)]
    if subscriber is not None and subscriber.get("phone"):
        out.append(segment("IN2", {63: xtn(subscriber["phone"], "home")}))
    return out


def in1_presented(r: Row) -> list[str]:
    """The insurance a person presented at registration (payer and member id)."""
    payer = r.get("presented_payer") or ""
    if not payer or not r.get("presented_member_id"):
        return []
    code = payer_code(payer)
    fields = {
        1: "1",
        2: comps(code, e(payer)),
        3: cx(code, "NIIP"),
        4: e(payer),
        36: e(r["presented_member_id"]),
    }
    return [segment("IN1", fields)]


def mrg(merged_mrn: str, merged_patient_id: str | None) -> str:
    """The prior identifiers of a merged chart (MRG-1: MRN, and the patient id as PI)."""
    ids = [cx(merged_mrn, "MR")] + ([cx(merged_patient_id, "PI")] if merged_patient_id else [])
    return segment("MRG", {1: "~".join(ids)})


#: care-team role -> ROL-3 (table 0443 where it has the role, else a local code).
CARE_ROLE_CODES = {
    "attending": "AT^Attending^HL70443",
    "consultant": "CP^Consulting Provider^HL70443",
    "nurse": "NURSE^Nurse^L",
}


def rol(n: int, user_id: str, role: str | None, workforce: dict[str, Row]) -> str:
    """A care-team member of the visit: ROL-3 the role, ROL-4 the person."""
    code = CARE_ROLE_CODES.get(role or "", comps("", e(role or "member"), "L"))
    return segment("ROL", {1: str(n), 2: "AD", 3: code, 4: xcn(user_id, workforce)})
