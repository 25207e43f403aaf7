"""Write the hospital's orders, results, medication orders and appointments as HL7 v2.5.1
ORM^O01, ORU^R01, RDE^O11 and SIU^S12 messages (read by ``ingest/hl7_orders.py``).

An order is an ORM at the time it was placed (OBR-3 names the performing department as the
filler's namespace, OBR-24 the diagnostic service section); each lab result an ORU when it
was resulted; a prescription an RDE naming its drug; an appointment an SIU^S12
when it was booked. Every message carries a short PID (MRN, patient id, name, date of
birth) and the visit number in PV1-19 when there is one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from phiwarden.synth import hl7_segments as s
from phiwarden.synth.export_io import Row

Message = tuple[datetime, str, list[str]]
#: order kind -> OBR-24 diagnostic service section (table 0074)
SECTION = {"lab": "LAB", "radiology": "RAD"}
#: canonical appointment status -> SCH-25 filler status (table 0278)
FILLER_STATUS = {
    "scheduled": "Booked",
    "completed": "Complete",
    "cancelled": "Cancelled",
    "no_show": "Noshow",
}


def _pid(p: Row) -> str:
    ids = f"{s.cx(p['mrn'], 'MR')}~{s.cx(p['patient_id'], 'PI')}"
    name = s.comps(s.e(p.get("last_name")), s.e(p.get("first_name")))
    return s.segment("PID", {1: "1", 3: ids, 5: name, 7: s.dt(p.get("dob")), 8: s.e(p.get("sex"))})


def _pv1(encounter_id: str | None) -> list[str]:
    if not encounter_id:
        return []
    return [s.segment("PV1", {1: "1", 2: "O", 19: s.cx(encounter_id, "VN")})]


def _orc(control: str, number: str, when: datetime | None, who: str | None) -> str:
    return s.segment(
        "ORC",
        {1: control, 2: s.e(number), 9: s.ts(when) if when else "", 12: s.e(who or "")},
    )


def _obr(o: Row) -> str:
    service = s.comps(s.e(o.get("code")), s.e(o.get("description")), "L")
    filler = s.comps(s.e(o["order_id"]), s.e(o.get("performing_department_id")))
    return s.segment(
        "OBR",
        {
            1: "1",
            2: s.e(o["order_id"]),
            3: filler,
            4: service,
            7: s.ts(o["ordered_at"]) if o.get("ordered_at") else "",
            16: s.e(o.get("ordered_by_user_id") or ""),
            24: SECTION.get(o.get("kind") or "", "OTH"),
        },
    )


def orders(rows: list[Row], results: list[Row], patients: dict[str, Row]) -> list[Message]:
    """An ORM per order and an ORU per lab result (the order repeated in its ORC/OBR)."""
    out: list[Message] = []
    by_order: dict[str, list[Row]] = defaultdict(list)
    for r in results:
        by_order[r.get("order_id") or ""].append(r)
    known = {o["order_id"]: o for o in rows}
    for o in rows:
        p = patients.get(o["patient_id"])
        if p is None or not o.get("ordered_at"):
            continue
        head = [_pid(p), *_pv1(o.get("encounter_id"))]
        orc = _orc("NW", o["order_id"], o["ordered_at"], o.get("ordered_by_user_id"))
        out.append((o["ordered_at"], "ORM^O01^ORM_O01", [*head, orc, _obr(o)]))
    for r in results:
        order = known.get(r.get("order_id") or "")
        p = patients.get(r["patient_id"])
        if order is None or p is None or not r.get("resulted_at"):
            continue
        head = [_pid(p), *_pv1(order.get("encounter_id"))]
        orc = _orc(
            "RE", order["order_id"], order.get("ordered_at"), order.get("ordered_by_user_id")
        )
        obx = s.segment(
            "OBX",
            {
                1: "1",
                2: "ST",
                3: s.comps("", s.e(r.get("test")), "L"),
                5: s.e(r.get("value")),
                11: "F",
                14: s.ts(r["resulted_at"]),
                16: s.e(r.get("resulted_by_user_id") or ""),
                21: s.e(r["result_id"]),
            },
        )
        out.append((r["resulted_at"], "ORU^R01^ORU_R01", [*head, orc, _obr(order), obx]))
    return out


def prescriptions(rows: list[Row], patients: dict[str, Row]) -> list[Message]:
    """An RDE^O11 per prescription, the drug by name (as many pharmacy systems send it)."""
    out: list[Message] = []
    for rx in rows:
        p = patients.get(rx["patient_id"])
        if p is None or not rx.get("prescribed_at"):
            continue
        drug = s.comps("", s.e(rx.get("drug")), "L")  # the name; the reader finds the schedule
        segs = [
            _pid(p),
            *_pv1(rx.get("encounter_id")),
            _orc("NW", rx["prescription_id"], rx["prescribed_at"], rx.get("prescriber_user_id")),
            s.segment("RXE", {1: "", 2: drug}),
        ]
        out.append((rx["prescribed_at"], "RDE^O11^RDE_O11", segs))
    return out


def appointments(rows: list[Row], patients: dict[str, Row]) -> list[Message]:
    """An SIU^S12 per appointment, sent when it was booked."""
    out: list[Message] = []
    for a in rows:
        p = patients.get(a["patient_id"])
        when = a.get("scheduled_at") or a.get("start")
        if p is None or when is None:
            continue
        timing = s.comps("", "", "", s.ts(a["start"])) if a.get("start") else ""
        segs = [
            s.segment(
                "SCH",
                {
                    1: s.e(a["appointment_id"]),
                    11: timing,
                    20: s.e(a.get("scheduled_by_user_id") or ""),
                    25: FILLER_STATUS.get(a.get("status") or "", "Booked"),
                },
            ),
            _pid(p),
            s.segment("RGS", {1: "1"}),
            s.segment("AIL", {1: "1", 3: s.e(a.get("department_id") or "")}),
            s.segment("AIP", {1: "1", 3: s.e(a.get("provider_user_id") or "")}),
        ]
        out.append((when, "SIU^S12^SIU_S12", segs))
    return out
