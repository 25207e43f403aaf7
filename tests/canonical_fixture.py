"""A tiny synthetic canonical folder for the exporter tests (FHIR, X12, mailbox).

Written with ``canonical_io.write_csv`` (and Parquet for access events) exactly as the
generator lays it out, with a few awkward values on purpose: quotes, a newline and
non-ASCII text in free text, missing SSNs and phones, sub-second timestamps.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from phiwarden.domain import canonical as c
from phiwarden.domain.canonical_io import write_csv

FIRST = ["Ana", "Ben", "Chloé", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena"]
LAST = [
    "Alvarez",
    "Brooks",
    "Chen",
    "O'Brien",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Huang",
    "Iqbal",
    "Jones",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
]
STATES = ["TX", "CA", "NY", "FL"]


def _write(root: Path, table: c.CanonicalTable, rows: list[dict[str, Any]]) -> None:
    columns = {f.name: [r.get(f.name) for r in rows] for f in table.schema}
    write_csv(pa.table(columns, schema=table.schema), root / f"{table.name}.csv", table)


def build_canonical(root: Path, n_patients: int = 60, seed: int = 7) -> Path:
    """Write a small canonical hospital under ``root/canonical`` and return that folder."""
    rng = np.random.default_rng(seed)
    out = root / "canonical"
    out.mkdir(parents=True, exist_ok=True)
    _write(
        out,
        c.FACILITIES,
        [
            {"facility_id": "F1", "name": "Mercy General", "city": "Dallas", "state": "TX"},
            {"facility_id": "F2", "name": "Bayside Clinic", "city": "Tampa", "state": "FL"},
        ],
    )
    kinds = [
        ("D1", "Emergency", "emergency", "F1"),
        ("D2", "Cardiology", "clinical", "F1"),
        ("D3", "Patient Billing", "billing", "F1"),
        ("D4", "Laboratory", "lab", "F2"),
    ]
    _write(
        out,
        c.DEPARTMENTS,
        [{"department_id": d, "name": n, "kind": k, "facility_id": f} for d, n, k, f in kinds],
    )
    roles = [
        ("physician", "D2"),
        ("nurse", "D1"),
        ("biller", "D3"),
        ("lab_tech", "D4"),
        ("physician", "D1"),
        ("registrar", "D3"),
        ("biller", "D3"),
        ("nurse", "D2"),
    ]
    workforce = []
    for i, (role, dept) in enumerate(roles, start=1):
        workforce.append(
            {
                "user_id": f"U{i}",
                "login": f"user{i}",
                "first_name": FIRST[i % len(FIRST)],
                "last_name": LAST[(i * 5) % len(LAST)],
                "role": role,
                "department_id": dept,
                "hire_date": date(2015, 1, i),
                "termination_date": date(2024, 2, 1) if i == 8 else None,
                "address_line": f"{100 + i} Elm St",
                "city": "Dallas",
                "state": "TX",
                "zip": "75201",
                "phone": f"214-555-01{i:02d}",
                "manager_id": "U1" if i > 1 else None,
                "shift_start_hour": 7 if i % 2 else 19,
                "shift_end_hour": 19 if i % 2 else 7,
            }
        )
    _write(out, c.WORKFORCE, workforce)

    patients: list[dict[str, Any]] = []
    contacts, coverages, phones, addresses = [], [], [], []
    for i in range(1, n_patients + 1):
        pid = f"P{i:05d}"
        state = STATES[i % len(STATES)]
        patients.append(
            {
                "patient_id": pid,
                "mrn": f"MRN{100000 + i}",
                "first_name": FIRST[i % len(FIRST)],
                "middle_name": "Q" if i % 3 == 0 else None,
                "last_name": LAST[i % len(LAST)],
                "previous_names": f"{LAST[(i + 3) % len(LAST)]}, {FIRST[i % len(FIRST)]}"
                if i % 7 == 0
                else None,
                "dob": date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 25000))),
                "sex": "F" if i % 2 else "M",
                "ssn": None
                if i % 11 == 0
                else f"{500 + i % 97:03d}-{10 + i % 80:02d}-{1000 + i:04d}",
                "address_line": f"{i} Main St",
                "city": "Dallas",
                "state": state,
                "zip": f"{75000 + i:05d}",
                "phone": None if i % 13 == 0 else f"469-555-{i:04d}",
                "email": f"p{i}@example.com" if i % 2 else None,
                "deceased_date": date(2024, 1, 5) if i == 9 else None,
                "vip": i == 5,
                "watch_list": i == 6,
                "employee_user_id": "U2" if i == 4 else None,
                "blood_type": ["A+", "O-", "B+", "AB+"][i % 4],
            }
        )
        phones.append(
            {"phone_id": f"PH{i}", "patient_id": pid, "phone": f"972-555-{i:04d}", "kind": "mobile"}
        )
        if i % 5 == 0:
            addresses.append(
                {
                    "address_id": f"A{i}",
                    "patient_id": pid,
                    "address_line": f"{i} Old Rd",
                    "city": "Austin",
                    "state": "TX",
                    "zip": "73301",
                    "valid_from": date(2010, 1, 1),
                    "valid_to": date(2020, 1, 1),
                }
            )
        contacts.append(
            {
                "contact_id": f"C{i}a",
                "patient_id": pid,
                "kind": ["next_of_kin", "emergency", "guarantor"][i % 3],
                "first_name": "Sam",
                "last_name": LAST[i % len(LAST)],
                "relationship": "spouse",
                "phone": f"817-555-{i:04d}",
            }
        )
        if i % 10 != 0:
            dependent = i % 4 == 0
            if dependent:
                contacts.append(
                    {
                        "contact_id": f"C{i}s",
                        "patient_id": pid,
                        "kind": "subscriber",
                        "first_name": "Pat",
                        "last_name": LAST[i % len(LAST)],
                        "relationship": "parent",
                    }
                )
            coverages.append(
                {
                    "coverage_id": f"COV{i}",
                    "patient_id": pid,
                    "payer": ["Blue Star Health", "Acme Care", "Medicare"][i % 3],
                    "member_id": f"M{900000 + i}",
                    "subscriber_first_name": "Pat" if dependent else FIRST[i % len(FIRST)],
                    "subscriber_last_name": LAST[i % len(LAST)],
                    "subscriber_dob": date(1960, 5, 5) if dependent else None,
                    "subscriber_relationship": "child" if dependent else "self",
                }
            )
    # one subscriber that is neither the patient nor a listed contact
    coverages.append(
        {
            "coverage_id": "COV-X",
            "patient_id": "P00003",
            "payer": "Acme Care",
            "member_id": "MX1",
            "subscriber_first_name": "Lee",
            "subscriber_last_name": "Stranger",
            "subscriber_dob": date(1970, 2, 2),
            "subscriber_relationship": "spouse",
        }
    )
    _write(out, c.PATIENTS, patients)
    _write(out, c.PATIENT_PHONES, phones)
    _write(out, c.PATIENT_ADDRESSES, addresses)
    _write(out, c.PATIENT_CONTACTS, contacts)
    _write(out, c.COVERAGES, coverages)

    start0 = datetime(2024, 3, 1, 8, 0)
    encounters, team, rx, orders, labs, regs, elig = [], [], [], [], [], [], []
    types = ["outpatient", "inpatient", "emergency", "telehealth"]
    for i, pat in enumerate(patients, start=1):
        eid = f"E{i}"
        start = start0 + timedelta(hours=int(rng.integers(0, 24 * 20)))
        encounters.append(
            {
                "encounter_id": eid,
                "patient_id": pat["patient_id"],
                "type": types[i % 4],
                "department_id": ["D1", "D2"][i % 2],
                "facility_id": "F1",
                "start": start,
                "end": None if i % 9 == 0 else start + timedelta(hours=3),
                "attending_user_id": ["U1", "U5"][i % 2],
            }
        )
        team.append(
            {"care_team_id": f"CT{i}", "encounter_id": eid, "user_id": "U2", "role": "nurse"}
        )
        rx.append(
            {
                "prescription_id": f"RX{i}",
                "encounter_id": eid,
                "patient_id": pat["patient_id"],
                "prescriber_user_id": "U1",
                "drug": "oxycodone 5 mg tablet" if i % 4 == 0 else "lisinopril 10 mg",
                "dea_schedule": "II" if i % 4 == 0 else None,
                "prescribed_at": start + timedelta(minutes=30),
            }
        )
        orders.append(
            {
                "order_id": f"O{i}",
                "encounter_id": eid,
                "patient_id": pat["patient_id"],
                "kind": "lab",
                "code": "ABO",
                "description": "Blood typing",
                "ordered_by_user_id": "U1",
                "performing_department_id": "D4",
                "ordered_at": start,
            }
        )
        labs.append(
            {
                "result_id": f"L{i}",
                "order_id": f"O{i}",
                "patient_id": pat["patient_id"],
                "test": "ABO/Rh" if i % 2 else "Hemoglobin",
                "value": pat["blood_type"] if i % 2 else "13.5 g/dL",
                "resulted_by_user_id": "U4",
                "resulted_at": start + timedelta(hours=1),
            }
        )
        regs.append(
            {
                "registration_id": f"R{i}",
                "patient_id": pat["patient_id"],
                "mrn": pat["mrn"],
                "registered_by_user_id": "U6",
                "registered_at": start,
                "facility_id": ["F1", "F2"][i % 2],
                "encounter_id": eid,
                "presented_first_name": pat["first_name"],
                "presented_last_name": pat["last_name"],
                "presented_dob": pat["dob"],
            }
        )
    for i, cov in enumerate(coverages[:24], start=1):
        pat = next(p for p in patients if p["patient_id"] == cov["patient_id"])
        dependent = cov["subscriber_relationship"] == "child"
        elig.append(
            {
                "response_id": f"ER{i}",
                "registration_id": f"R{int(pat['patient_id'][1:])}",
                "coverage_id": cov["coverage_id"],
                "payer": cov["payer"],
                "member_id": cov["member_id"],
                "loop": "2100D" if dependent else "2100C",
                "first_name": pat["first_name"],
                "last_name": pat["last_name"],
                "dob": pat["dob"],
                "sex": pat["sex"],
                "ssn": pat["ssn"],
                "address_line": pat["address_line"],
                "city": pat["city"],
                "state": pat["state"],
                "zip": pat["zip"],
                "aaa_code": "75" if i % 7 == 0 else None,
                "ins_changed": i % 5 == 0,
                "received_at": datetime(2024, 3, 1 + i % 3, 9, i, 5),
            }
        )
    _write(out, c.ENCOUNTERS, encounters)
    _write(out, c.CARE_TEAM, team)
    _write(out, c.PRESCRIPTIONS, rx)
    _write(out, c.ORDERS, orders)
    _write(out, c.LAB_RESULTS, labs)
    _write(out, c.REGISTRATIONS, regs)
    _write(out, c.ELIGIBILITY_RESPONSES, elig)
    calls = [
        {
            "call_id": f"CL{i}",
            "patient_id": pat["patient_id"] if i % 4 else None,
            "user_id": "U2",
            "start": datetime(2024, 3, 2, 10, i % 60),
            "end": datetime(2024, 3, 2, 11, i % 60) if i % 3 else None,
            "reason": ["refill request", "billing question", None][i % 3],
            "caller_phone": None,
        }
        for i, pat in enumerate(patients[:12])
    ]
    _write(out, c.CALLS, calls)
    appointments = [
        {
            "appointment_id": f"AP{i}",
            "patient_id": pat["patient_id"],
            "department_id": enc["department_id"],
            "provider_user_id": "U1" if i % 2 else None,
            "scheduled_by_user_id": "U2",
            "scheduled_at": datetime(2024, 2, 20, 9, i % 60),
            "start": datetime(2024, 3, 5, 8 + i % 9, 0),
            "status": ["completed", "scheduled", "cancelled", "no_show"][i % 4],
        }
        for i, (pat, enc) in enumerate(zip(patients[:8], encounters[:8], strict=False))
    ]
    _write(out, c.APPOINTMENTS, appointments)
    _write_access_events(out, patients, rng)
    return out


def _write_access_events(
    out: Path, patients: list[dict[str, Any]], rng: np.random.Generator
) -> None:
    actions = ["view", "view", "update", "create", "print", "search", "delete", "execute"]
    for day in range(2):
        rows: list[dict[str, Any]] = []
        base = datetime(2024, 3, 1 + day)
        for k in range(300):
            btg = k % 50 == 0
            micro = 250000 if (day == 1 and k % 3 == 0) else 0
            rows.append(
                {
                    "event_id": f"AE{day}-{k}",
                    "user_id": f"U{1 + k % 8}",
                    "ts": base + timedelta(seconds=int(rng.integers(0, 86400)), microseconds=micro),
                    "patient_id": patients[k % len(patients)]["patient_id"],
                    "action": actions[k % len(actions)],
                    "source_system": None if k % 97 == 0 else "EHR",
                    "workstation": None if k % 41 == 0 else f"WS-{k % 17}",
                    "department_id": ["D1", "D2", "D3", "D4"][k % 4],
                    "break_the_glass": btg,
                    "btg_reason": (
                        'Pt "unresponsive",\nrésumé \\ stat' if k % 100 == 0 else "Emergency"
                    )
                    if btg
                    else None,
                    # a denied attempt now and then (ATNA EventOutcomeIndicator 4)
                    "outcome": "failure" if k % 53 == 0 else "success",
                }
            )
        table = pa.Table.from_pylist(rows, schema=c.ACCESS_EVENTS.schema)
        path = out / "access_events" / f"day={base.date().isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
