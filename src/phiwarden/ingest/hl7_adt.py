"""One HL7 v2 ADT message as canonical records, by what its trigger event means.

- **Registration** (A01 admit, A04 register): the patient (created if new), the visit
  (PV1) and a registration whose ``presented_*`` columns are the identity in the PID and
  the first IN1, and whose ``registered_by_user_id`` is the operator in EVN-5. A
  registration records what the person presented; it does not change the MPI's
  contacts, coverages or address and phone history (so a thief's presented address
  stays out of the victim's chart while the red-flag screen still sees it).
- **Care team**: every visit's PV1-8 (referring), PV1-9 (consulting), PV1-17
  (admitting) and ROL segments (ROL-3 role, table 0443; ROL-4 the person).
- **Merge** (A40, and A18/A30/A34/A36/A39): each MRG under its PID becomes a
  patient_merges record, the prior MRN merged into the PID's patient.
- **Person information** (A28, A31, A08 and every other ADT event): the patient with
  addresses (PID-11), phones (PID-13/14), contacts (NK1, GT1, IN1 subscribers),
  coverages (IN1) and, when PV1 has a visit number, the visit.
- **Update** (A08, A31): as person information, and the stored patient's demographics
  are replaced by the PID's, the previous values kept as history (``hl7_update``).
- **Link / unlink** (A24, A37): the two PIDs' charts are linked as one person, or the
  link is ended (``hl7_update``); both patients are stored if new.

The loader inserts each record once by key, so a later message about the same patient
or visit adds only what is new; only an update changes what is stored.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field

from phiwarden.domain import canonical as c
from phiwarden.formats import hl7_codes as codes
from phiwarden.ingest import hl7_segments as seg
from phiwarden.ingest.hl7_er7 import Hl7Error, Message, Segment
from phiwarden.ingest.hl7_segments import Row
from phiwarden.ingest.hl7_update import LINK_EVENTS, UNLINK_EVENTS, UPDATE_EVENTS, Link, Update

REGISTRATION_EVENTS = frozenset({"A01", "A04"})
MERGE_EVENTS = frozenset({"A18", "A30", "A34", "A36", "A39", "A40"})
SUPPORTED = (
    "ADT A01, A04, A08, A24, A28, A31, A37, A40; MFN M02, M05; ORM O01; ORU R01; RDE O11; "
    "SIU S12-S26"
)

#: The tables an ADT message fills, in load order (referenced records first).
TABLES: tuple[c.CanonicalTable, ...] = (
    c.PATIENTS,
    c.PATIENT_MERGES,
    c.PATIENT_ADDRESSES,
    c.PATIENT_PHONES,
    c.PATIENT_CONTACTS,
    c.COVERAGES,
    c.ENCOUNTERS,
    c.CARE_TEAM,
    c.REGISTRATIONS,
)
#: ROL-3 role (table 0443) -> care-team role; other codes keep their text.
CARE_ROLES = {
    "AT": "attending",
    "CP": "consultant",
    "AD": "admitting",
    "RP": "referring",
    "PP": "primary_care",
}


@dataclass
class Mapped:
    """The canonical records one message yields, by table name."""

    control_id: str
    event: str
    rows: dict[str, list[Row]] = field(default_factory=dict)
    #: demographics to compare with the stored patient (A08, A31)
    updates: list[Update] = field(default_factory=list)
    #: charts linked or unlinked (A24, A37)
    links: list[Link] = field(default_factory=list)

    def add(self, table: c.CanonicalTable, row: Row | None) -> None:
        """Add a record of a table (None is ignored)."""
        if row is not None:
            self.rows.setdefault(table.name, []).append(row)


def event_time(msg: Message) -> str | None:
    """When the event happened: EVN-6, else EVN-2, else MSH-7."""
    evn = msg.first("EVN")
    for label, value in (
        ("EVN-6 (event occurred)", evn.get(6) if evn else ""),
        ("EVN-2 (recorded date/time)", evn.get(2) if evn else ""),
        ("MSH-7 (date/time of message)", msg.msh.get(7)),
    ):
        when = seg.hl7_timestamp(value, label)
        if when:
            return when
    return None


def _operator(msg: Message) -> str | None:
    evn = msg.first("EVN")
    return (evn.get(5) or None) if evn else None


def map_message(msg: Message, workforce: Set[str]) -> Mapped:
    """The canonical records of one ADT message; raises Hl7Error saying what is wrong.

    ``workforce`` holds the known user ids: an employer NK1 whose employee number is one
    of them marks the patient as a member of the workforce.
    """
    kind, trigger = msg.message_type
    if kind != "ADT":
        raise Hl7Error(
            f"message type {kind[:10]} is not read here; phiwarden reads {SUPPORTED}",
            ack_code="AR",
            error_code="200",
        )
    evn = msg.first("EVN")
    trigger = trigger or (evn.get(1).upper() if evn else "")
    if not trigger:
        raise Hl7Error("MSH-9 has no trigger event (e.g. ADT^A04)", ack_code="AR", error_code="201")
    if msg.first("PID") is None:
        raise Hl7Error("no PID segment: an ADT message needs the patient", error_code="100")
    out = Mapped(msg.control_id, trigger)
    when = event_time(msg)
    if trigger in MERGE_EVENTS:
        _merges(msg, out, when)
    elif trigger in LINK_EVENTS | UNLINK_EVENTS:
        _links(msg, out, when, trigger in UNLINK_EVENTS)
    elif trigger in REGISTRATION_EVENTS:
        _registration(msg, out, when, workforce)
    else:
        _person_information(msg, out, when, workforce)
    return out


def _patient_row(msg: Message, who: seg.Person, workforce: Set[str]) -> Row:
    row = dict(who.patient)
    pv1 = msg.first("PV1")
    row["vip"] = "true" if pv1 is not None and seg.vip_flag(pv1) else "false"
    for obx in msg.all("OBX"):
        row["blood_type"] = row.get("blood_type") or seg.blood_type(obx)
    for nk1 in msg.all("NK1"):
        employee = seg.nk1_employee(nk1)
        if employee and employee in workforce:
            row["employee_user_id"] = employee
    return row


def _merges(msg: Message, out: Mapped, when: str | None) -> None:
    current: seg.Person | None = None
    for s in msg.segments:
        if s.name == "PID":
            current = seg.person(s)
            out.add(c.PATIENTS, current.patient)
        elif s.name == "MRG":
            if current is None:
                raise Hl7Error(
                    "MRG comes before any PID: the surviving patient is unknown", error_code="100"
                )
            out.add(c.PATIENT_MERGES, seg.merge(current.patient, s, when, _operator(msg)))
    if c.PATIENT_MERGES.name not in out.rows:
        raise Hl7Error(
            "a merge message needs an MRG segment with the prior identifiers", error_code="100"
        )


def _links(msg: Message, out: Mapped, when: str | None, unlink: bool) -> None:
    pids = [seg.person(s).patient for s in msg.all("PID")]
    if len(pids) != 2:
        raise Hl7Error(
            f"a link or unlink message needs two PID segments (the two charts), not {len(pids)}",
            error_code="100",
        )
    for patient in pids:
        out.add(c.PATIENTS, patient)
    out.links.append(
        Link(
            pids[0]["patient_id"] or "",
            pids[1]["patient_id"] or "",
            when,
            msg.control_id,
            _operator(msg),
            unlink,
        )
    )


def _visit(msg: Message, patient_id: str, when: str | None) -> seg.Visit | None:
    pv1 = msg.first("PV1")
    return seg.visit(pv1, patient_id, when) if pv1 is not None else None


def _person_information(msg: Message, out: Mapped, when: str | None, workforce: Set[str]) -> None:
    pid = msg.first("PID")
    assert pid is not None
    who = seg.person(pid)
    patient_id = who.patient["patient_id"] or ""
    out.add(c.PATIENTS, _patient_row(msg, who, workforce))
    if out.event in UPDATE_EVENTS:
        out.updates.append(Update(who.patient, when, msg.control_id, out.event, _operator(msg)))
    for row in who.addresses:
        out.add(c.PATIENT_ADDRESSES, row)
    for row in who.phones:
        out.add(c.PATIENT_PHONES, row)
    in1: Segment | None = None
    for s in [*msg.segments, None]:
        if in1 is not None and (s is None or s.name != "IN2"):
            _insurance(out, patient_id, in1, None)
            in1 = None
        if s is None:
            break
        if s.name == "NK1":
            out.add(c.PATIENT_CONTACTS, seg.nk1_contact(patient_id, s))
        elif s.name == "GT1":
            out.add(c.PATIENT_CONTACTS, seg.gt1_contact(patient_id, s))
        elif s.name == "IN1":
            in1 = s
        elif s.name == "IN2" and in1 is not None:
            _insurance(out, patient_id, in1, s)
            in1 = None
    visit = _visit(msg, patient_id, when)
    if visit is not None:
        out.add(c.ENCOUNTERS, visit.encounter)
        _care_team(msg, out, visit.encounter)


def _care_team(msg: Message, out: Mapped, encounter: Row | None) -> None:
    """Care-team members of the visit: PV1-8 referring, PV1-9 consulting, PV1-17 admitting
    (every repetition), and each ROL segment (ROL-3 role, ROL-4 person)."""
    if encounter is None:
        return
    visit = encounter["encounter_id"] or ""
    members: list[tuple[str, str]] = []
    pv1 = msg.first("PV1")
    if pv1 is not None:
        for n, role in ((8, "referring"), (9, "consultant"), (17, "admitting")):
            members += [(pv1.comp(rep, 1), role) for rep in pv1.reps(n) if pv1.comp(rep, 1)]
    for rol in msg.all("ROL"):
        if rol.get(2).upper() in ("DE", "LI"):  # deleted / inactivated by the sender
            continue
        code = rol.get(3, 1).upper()
        role = CARE_ROLES.get(code) or (rol.get(3, 2) or code).lower() or "member"
        members += [(rol.comp(rep, 1), role) for rep in rol.reps(4) if rol.comp(rep, 1)]
    for user, role in dict.fromkeys(members):
        out.add(
            c.CARE_TEAM,
            {
                "care_team_id": f"{visit}-CT-{seg.digest(user, role)}",
                "encounter_id": visit,
                "user_id": user,
                "role": role,
            },
        )


def _insurance(out: Mapped, patient_id: str, in1: Segment, in2: Segment | None) -> None:
    found = seg.coverage(patient_id, in1, in2)
    if found is not None:
        out.add(c.COVERAGES, found[0])
        out.add(c.PATIENT_CONTACTS, found[1])


def _presented_document(who: seg.Person) -> tuple[str | None, str | None]:
    if who.drivers_license:
        return "drivers_license", who.drivers_license
    for kind, number in who.documents.items():
        if kind in codes.ID_DOCUMENT_KINDS:
            return codes.ID_DOCUMENT_KINDS[kind], number
    return None, None


def _registration(msg: Message, out: Mapped, when: str | None, workforce: Set[str]) -> None:
    pid = msg.first("PID")
    assert pid is not None
    who = seg.person(pid)
    p = who.patient
    patient_id = p["patient_id"] or ""
    out.add(c.PATIENTS, _patient_row(msg, who, workforce))
    visit = _visit(msg, patient_id, when)
    encounter = visit.encounter if visit is not None else None
    out.add(c.ENCOUNTERS, encounter)
    _care_team(msg, out, encounter)
    if when is None:
        raise Hl7Error("EVN-2 (recorded date/time) is empty; a registration needs its time")
    in1 = msg.first("IN1")
    payer = seg.coverage(patient_id, in1, None) if in1 is not None else None
    evn = msg.first("EVN")
    facility = (evn.get(7) if evn else "") or (visit.facility_id if visit else None)
    visit_number = encounter["encounter_id"] if encounter else None
    registration_id = (visit.registration_id if visit else None) or (
        f"{visit_number}-RG"
        if visit_number
        else f"{msg.msh.get(4) or msg.msh.get(3)}-RG-{seg.digest(msg.control_id, when)}"
    )
    id_type, id_number = _presented_document(who)
    out.add(
        c.REGISTRATIONS,
        {
            "registration_id": registration_id,
            "patient_id": patient_id,
            "mrn": p["mrn"],
            "registered_by_user_id": _operator(msg),
            "registered_at": when,
            "facility_id": facility or None,
            "encounter_id": visit_number,
            "presented_first_name": p["first_name"],
            "presented_last_name": p["last_name"],
            "presented_dob": p["dob"],
            "presented_sex": p["sex"],
            "presented_ssn": p["ssn"],
            "presented_address_line": p.get("address_line"),
            "presented_city": p.get("city"),
            "presented_state": p.get("state"),
            "presented_zip": p.get("zip"),
            "presented_phone": p.get("phone"),
            "presented_payer": payer[0]["payer"] if payer else None,
            "presented_member_id": payer[0]["member_id"] if payer else None,
            "id_type": id_type,
            "id_number": id_number,
        },
    )
