"""HL7 v2 clinical messages: orders (ORM^O01), results (ORU^R01), medication orders
(RDE^O11) and appointments (SIU^S12), the records that explain why a user opened a chart.

Every message names its patient in PID-3 (the patient id, typed PI, else the MRN) and
may name the visit in PV1-19.

- **Order** (ORM, and the order of an ORU): ORC-2 placer order number the order id,
  ORC-9 when, ORC-12 (else OBR-16) who ordered; OBR-4 the service (code, text); OBR-24
  the diagnostic service section (table 0074: LAB, RAD...) and the service text give the
  kind through the shipped table and the hospital's mapping (``[order_kinds]``), else
  ``other``; the performing department is the namespace of the filler order number
  (OBR-3.2), the application of the department that does the work.
- **Result** (each OBX of an ORU): OBX-21 (else ``<order>-<OBX-1>``) the result id,
  OBX-3 the test (text, else code), OBX-5 the value, OBX-16 who resulted it, OBX-14 (else
  OBR-22) when. A LOINC 882-1 result is the blood type.
- **Medication order** (RDE): ORC-2 the prescription id, ORC-9 when, ORC-12 the
  prescriber, RXE-2 the drug (code, name, coding system ``RXNORM``), whose DEA schedule
  comes from the shipped RxNorm table (``formats.controlled``) or the hospital's mapping.
- **Appointment** (SIU^S12..S26): SCH-1 (else SCH-2) the appointment id, SCH-11.4 (else
  TQ1-7) the start, SCH-20 who booked it, SCH-25 the status (table 0278: Booked,
  Complete, Cancelled, Noshow...), MSH-7 when it was booked, AIL-3.1 the department,
  AIP-3 the provider.
"""

from __future__ import annotations

from typing import Any

from phiwarden.domain import canonical as c
from phiwarden.formats import hl7_codes as codes
from phiwarden.formats.controlled import RXNORM
from phiwarden.formats.terminology import CodeMap
from phiwarden.ingest.hl7_er7 import Hl7Error, Message, Segment
from phiwarden.ingest.hl7_master import V2
from phiwarden.ingest.hl7_segments import Row, hl7_timestamp, patient_key, person_id

TABLES: tuple[c.CanonicalTable, ...] = (
    c.ORDERS,
    c.PRESCRIPTIONS,
    c.LAB_RESULTS,
    c.APPOINTMENTS,
)
KINDS = frozenset({"ORM", "ORU", "RDE", "SIU", "OMG", "OML"})
#: SCH-25 filler status (table 0278) -> canonical appointment status.
APPOINTMENT_STATUS = {
    "BOOKED": "scheduled",
    "PENDING": "scheduled",
    "WAITLIST": "scheduled",
    "STARTED": "completed",
    "COMPLETE": "completed",
    "CANCELLED": "cancelled",
    "DELETED": "cancelled",
    "NOSHOW": "no_show",
}


def _when(seg: Segment | None, n: int, label: str) -> str | None:
    return hl7_timestamp(seg.get(n), label) if seg is not None else None


def _patient(msg: Message) -> tuple[str, str | None]:
    pid = msg.first("PID")
    if pid is None:
        raise Hl7Error("no PID segment: the message must name the patient", error_code="100")
    patient_id, _ = patient_key(pid)
    pv1 = msg.first("PV1")
    return patient_id, (pv1.get(19) or None) if pv1 is not None else None


def map_clinical(msg: Message, codemap: CodeMap) -> dict[str, list[Row]]:
    """The clinical records of one ORM, ORU, RDE or SIU message, by table name."""
    kind, _ = msg.message_type
    out: dict[str, list[Row]] = {t.name: [] for t in TABLES}
    patient_id, visit = _patient(msg)
    if kind == "SIU":
        out[c.APPOINTMENTS.name].append(_appointment(msg, patient_id))
        return out
    orc: Segment | None = None
    obr: Segment | None = None
    for s in msg.segments:
        if s.name == "ORC":
            orc, obr = s, None
        elif s.name == "OBR":
            obr = s
            out[c.ORDERS.name].append(_order(orc, obr, patient_id, visit, codemap))
        elif s.name == "RXE":
            out[c.PRESCRIPTIONS.name].append(_prescription(orc, s, patient_id, visit, codemap))
        elif s.name == "OBX" and obr is not None:
            out[c.LAB_RESULTS.name].append(_result(obr, s, patient_id))
    if not any(out.values()):
        raise Hl7Error(f"{kind} message without an OBR or RXE: nothing to read", error_code="100")
    return out


def _order_id(orc: Segment | None, obr: Segment) -> str:
    order_id = (orc.get(2) if orc is not None else "") or obr.get(2) or obr.get(3)
    if not order_id:
        raise Hl7Error("ORC-2 / OBR-2 (placer order number) is empty", error_code="101")
    return order_id


def _order(
    orc: Segment | None, obr: Segment, patient_id: str, visit: str | None, codemap: CodeMap
) -> Row:
    section = obr.get(24)
    concepts: list[dict[str, Any]] = []
    if section:
        concepts.append({"coding": [{"system": V2.format(74), "code": section.upper()}]})
    text = obr.get(4, 2) or obr.get(4, 1)
    kind = codemap.lookup("order_kind", concepts, names=[text])
    return {
        "order_id": _order_id(orc, obr),
        "encounter_id": visit,
        "patient_id": patient_id,
        "kind": kind or codemap.fallback("order_kind", "other"),
        "code": obr.get(4, 1) or None,
        "description": text or None,
        "ordered_by_user_id": (person_id(orc, 12) if orc is not None else None)
        or person_id(obr, 16),
        "performing_department_id": obr.get(3, 2) or None,
        "ordered_at": _when(orc, 9, "ORC-9 (date/time of transaction)")
        or _when(obr, 6, "OBR-6 (requested date/time)")
        or _when(obr, 7, "OBR-7 (observation date/time)"),
    }


def _result(obr: Segment, obx: Segment, patient_id: str) -> Row:
    order_id = obr.get(2) or obr.get(3)
    test = obx.get(3, 2) or obx.get(3, 1)
    if obx.get(3, 1) == codes.BLOOD_TYPE_LOINC:
        test = "ABO/Rh"
    return {
        "result_id": obx.get(21) or f"{order_id}-{obx.get(1) or '1'}",
        "order_id": order_id or None,
        "patient_id": patient_id,
        "test": test or None,
        "value": obx.get(5) or None,
        "resulted_by_user_id": person_id(obx, 16),
        "resulted_at": _when(obx, 14, "OBX-14 (date/time of the observation)")
        or _when(obr, 22, "OBR-22 (results report/status change)"),
    }


def _prescription(
    orc: Segment | None, rxe: Segment, patient_id: str, visit: str | None, codemap: CodeMap
) -> Row:
    if orc is None or not orc.get(2):
        raise Hl7Error("RXE without an ORC-2 (placer order number)", error_code="101")
    code, name, system = rxe.get(2, 1), rxe.get(2, 2), rxe.get(2, 3).upper()
    coding = {
        "system": RXNORM if system in ("RXNORM", "RXN") else system,
        "code": code,
        "display": name or None,
    }
    return {
        "prescription_id": orc.get(2),
        "encounter_id": visit,
        "patient_id": patient_id,
        "prescriber_user_id": person_id(orc, 12),
        "drug": name or code or None,
        "dea_schedule": codemap.dea_schedule({"coding": [coding], "text": name or None}),
        "prescribed_at": _when(orc, 9, "ORC-9 (date/time of transaction)"),
    }


def _appointment(msg: Message, patient_id: str) -> Row:
    sch = msg.first("SCH")
    if sch is None:
        raise Hl7Error("a scheduling message needs an SCH segment", error_code="100")
    appointment_id = sch.get(1) or sch.get(2)
    if not appointment_id:
        raise Hl7Error("SCH-1 / SCH-2 (appointment id) is empty", error_code="101")
    tq1 = msg.first("TQ1")
    start: str | None = None
    raw = sch.reps(11)
    if raw:
        start = hl7_timestamp(sch.comp(raw[0], 4), "SCH-11.4 (appointment start)")
    start = start or _when(tq1, 7, "TQ1-7 (start date/time)")
    ail, aip = msg.first("AIL"), msg.first("AIP")
    return {
        "appointment_id": appointment_id,
        "patient_id": patient_id,
        "department_id": (ail.get(3, 1) or None) if ail is not None else None,
        "provider_user_id": person_id(aip, 3) if aip is not None else None,
        "scheduled_by_user_id": person_id(sch, 20),
        "scheduled_at": hl7_timestamp(msg.msh.get(7), "MSH-7 (date/time of message)"),
        "start": start,
        "status": APPOINTMENT_STATUS.get(sch.get(25).upper().replace(" ", ""), "scheduled"),
    }
