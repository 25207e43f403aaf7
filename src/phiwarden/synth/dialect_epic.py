"""The ``epic-like`` dialect: the same hospital as an Epic-style site would hand it over.

``synth --dialect epic-like`` writes ``<out>/epic-like/`` from the canonical folder:

- ``access_log/access_log_YYYYMMDD.csv``: the Epic-style access-log export (logins and
  MRNs, metric names, no event ids), read with ``--format epic``;
- ``hl7/00_directory.hl7``: the directory as master files, MFN^M05 locations and
  MFN^M02 staff with the site's own staff-type codes and job titles, no shifts;
- ``hl7/adt_YYYYMMDD.hl7``: the ADT feed (A28 MPI, A40 merges, A04/A01 registrations,
  A08 visits), each visit's care team as ROL segments;
- ``hl7/calls_YYYYMMDD.hl7``: call-centre calls as telephone encounters (A08 with a
  PV1 of class O, patient type TELEHEALTH, the agent attending, in the agent's
  department), the way an EHR records them instead of a call log;
- ``hl7/orders_YYYYMMDD.hl7``: ORM orders, ORU results, RDE medication orders and SIU
  appointments.

Nothing is in phiwarden's own codes. Not carried (as at such a site): billing,
eligibility, complaints, fraud-watch records, user shifts and managers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from phiwarden.domain import canonical as c
from phiwarden.synth import hl7_clinical as clinical
from phiwarden.synth import hl7_directory as directory
from phiwarden.synth import hl7_segments as s
from phiwarden.synth.access_log import write_access_log
from phiwarden.synth.export_io import Row, load_rows
from phiwarden.synth.hl7 import write_hl7

FOLDER = "epic-like"
Message = tuple[datetime, str, list[str]]


def _write(path: Path, messages: list[Message], prefix: str) -> int:
    lines: list[str] = []
    for n, (when, kind, segs) in enumerate(sorted(messages, key=lambda m: m[0]), start=1):
        lines += [directory.header(when, kind, f"{prefix}{n:09d}"), *segs]
    path.write_bytes("".join(f"{line}\r\n" for line in lines).encode("utf-8"))
    return len(messages)


def _by_day(folder: Path, stem: str, messages: list[Message], prefix: str) -> int:
    days: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        days[f"{m[0]:%Y%m%d}"].append(m)
    for day, group in sorted(days.items()):
        _write(folder / f"{stem}_{day}.hl7", group, f"{prefix}{day}")
    return len(messages)


def _calls(canonical: Path, patients: dict[str, Row], workforce: dict[str, Row]) -> list[Message]:
    facility = {
        d["department_id"]: d.get("facility_id") for d in load_rows(canonical, c.DEPARTMENTS)
    }
    out: list[Message] = []
    for call in load_rows(canonical, c.CALLS):
        p = patients.get(call.get("patient_id") or "")
        agent = workforce.get(call["user_id"]) or {}
        if p is None or call.get("start") is None:
            continue
        dept = agent.get("department_id")
        enc = {
            "encounter_id": call["call_id"],
            "type": "telehealth",
            "department_id": dept,
            "facility_id": facility.get(dept or ""),
            "attending_user_id": call["user_id"],
            "start": call["start"],
            "end": call.get("end"),
        }
        segs = [
            s.evn("A08", call["start"]),
            s.pid_mpi(p, [], []),
            s.pv1("O", enc=enc, workforce=workforce),
        ]
        out.append((call["start"], "ADT^A08^ADT_A01", segs))
    return out


def write_epic_like(canonical: Path, out_dir: Path) -> dict[str, int]:
    """Write the epic-like export of a canonical hospital; returns records per part."""
    root = out_dir / FOLDER
    hl7 = root / "hl7"
    hl7.mkdir(parents=True, exist_ok=True)
    counts = {"access_log_rows": write_access_log(canonical, root / "access_log")}
    workforce = load_rows(canonical, c.WORKFORCE)
    first = min((w["hire_date"] for w in workforce if w.get("hire_date")), default=None)
    when = datetime.combine(first, datetime.min.time()) if first else datetime(2000, 1, 1)
    master = [
        (
            when,
            "MFN^M05^MFN_M05",
            directory.locations(
                load_rows(canonical, c.FACILITIES), load_rows(canonical, c.DEPARTMENTS), when
            ),
        ),
        (when, "MFN^M02^MFN_M02", directory.staff(workforce, when)),
    ]
    counts["master_files"] = _write(hl7 / "00_directory.hl7", master, "MFN")
    counts["adt"] = write_hl7(canonical, hl7, care_team=True)
    patients = {p["patient_id"]: p for p in load_rows(canonical, c.PATIENTS)}
    staff = {w["user_id"]: w for w in workforce}
    counts["calls"] = _by_day(hl7, "calls", _calls(canonical, patients, staff), "CAL")
    orders = [
        *clinical.orders(
            load_rows(canonical, c.ORDERS), load_rows(canonical, c.LAB_RESULTS), patients
        ),
        *clinical.prescriptions(load_rows(canonical, c.PRESCRIPTIONS), patients),
        *clinical.appointments(load_rows(canonical, c.APPOINTMENTS), patients),
    ]
    counts["clinical"] = _by_day(hl7, "orders", orders, "ORD")
    return counts
