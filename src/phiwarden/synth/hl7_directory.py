"""Write the hospital's directory as HL7 v2.5.1 master files: MFN^M05 locations and
MFN^M02 staff, the way an interface engine sends them (read by ``ingest/hl7_master.py``).

Facilities and departments are LOC records (LOC-1 ``dept^^^facility``, LOC-2 the name,
LDP-2 the department code and name); staff are STF records with the hospital's own
staff-type codes (STF-4) and job titles (STF-18), the login as an STF-2 repetition typed
``UN``, the employee number typed ``EI``, and PRA for physicians. No shift is sent: HL7
master files have no field for it.
"""

from __future__ import annotations

from datetime import datetime

from phiwarden.synth import hl7_segments as s
from phiwarden.synth.export_io import Row

#: canonical role -> (STF-4 staff type, STF-18 job title) of the epic-like hospital.
STAFF_TYPES: dict[str, tuple[str, str]] = {
    "physician": ("MD", "Staff Physician"),
    "nurse": ("RN", "Registered Nurse"),
    "registrar": ("PAR", "Patient Access Representative"),
    "biller": ("PAC", "Patient Accounts Representative"),
    "coder": ("COD", "Medical Coder"),
    "call_center_agent": ("CCA", "Contact Center Agent"),
    "lab_tech": ("MLT", "Medical Laboratory Technician"),
    "radiology_tech": ("RTR", "Radiologic Technologist"),
    "pharmacist": ("RPH", "Pharmacist"),
    "him_analyst": ("HIS", "Health Information Specialist"),
    "it_analyst": ("CAA", "Clinical Applications Analyst"),
    "administrator": ("ADM", "Department Administrator"),
}


def header(when: datetime, message_type: str, control: str) -> str:
    """An MSH for any message type (``MFN^M02^MFN_M02``)."""
    return s.segment(
        "MSH",
        {
            2: "^~\\&",
            3: s.SENDER,
            4: s.AUTHORITY,
            5: s.AUTHORITY,
            6: s.AUTHORITY,
            7: s.ts(when),
            9: message_type,
            10: control,
            11: "P",
            12: s.VERSION,
        },
    )


def _mfi(file_id: str, text: str, when: datetime) -> str:
    return s.segment("MFI", {1: f"{file_id}^{text}^HL70175", 3: "UPD", 5: s.ts(when), 6: "NE"})


def locations(facilities: list[Row], departments: list[Row], when: datetime) -> list[str]:
    """The segments of one MFN^M05 (after MSH): every facility, then every department."""
    segs = [_mfi("LOC", "Location master file", when)]
    for f in facilities:
        key = s.comps("", "", "", s.e(f["facility_id"]))
        segs.append(s.segment("MFE", {1: "MAD", 3: s.ts(when), 4: key, 5: "PL"}))
        address = s.comps("", "", s.e(f.get("city")), s.e(f.get("state")), "", "USA", "B")
        segs.append(s.segment("LOC", {1: key, 2: s.e(f.get("name")), 3: "L", 5: address}))
    for d in departments:
        key = s.comps(s.e(d["department_id"]), "", "", s.e(d.get("facility_id")))
        segs.append(s.segment("MFE", {1: "MAD", 3: s.ts(when), 4: key, 5: "PL"}))
        segs.append(s.segment("LOC", {1: key, 2: s.e(d.get("name")), 3: "D"}))
        code = s.comps(s.e(d["department_id"]), s.e(d.get("name")))
        segs.append(s.segment("LDP", {1: key, 2: code}))
    return segs


def staff(workforce: list[Row], when: datetime) -> list[str]:
    """The segments of one MFN^M02 (after MSH): one STF (and PRA) per workforce member."""
    segs = [_mfi("STF", "Staff master file", when)]
    for w in workforce:
        user = s.e(w["user_id"])
        code, title = STAFF_TYPES.get(w.get("role") or "", ("OTH", "Staff"))
        ids = [s.comps(s.e(w["login"]), "", "", "EPIC", "UN")] if w.get("login") else []
        ids.append(s.comps(user, "", "", "EPIC", "EI"))
        left = w.get("termination_date")
        segs.append(
            s.segment("MFE", {1: "MUP" if left else "MAD", 3: s.ts(when), 4: user, 5: "CE"})
        )
        address = s.xad(w.get("address_line"), w.get("city"), w.get("state"), w.get("zip"))
        segs.append(
            s.segment(
                "STF",
                {
                    1: user,
                    2: "~".join(ids),
                    3: s.comps(s.e(w.get("last_name")), s.e(w.get("first_name"))),
                    4: code,
                    7: "I" if left else "A",
                    8: s.e(w.get("department_id")),
                    10: s.xtn(w["phone"], "home") if w.get("phone") else "",
                    11: address if w.get("address_line") else "",
                    12: s.dt(w.get("hire_date")),
                    13: s.dt(left),
                    18: s.e(title),
                },
            )
        )
        if w.get("role") == "physician":
            segs.append(s.segment("PRA", {1: user, 3: "MD^Physician^HL70186"}))
    return segs
