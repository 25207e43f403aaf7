"""Export the synthetic hospital as an HL7 v2.5.1 ADT feed, one file per day.

What the hospital's registration system would send its interfaces, in time order:

- the MPI: one **A28** (add person) per patient with PID (MRN and patient id, legal and
  previous names, address and phone history, SSN, death), NK1 (next of kin, emergency
  contacts, and an employer NK1 for patients on the workforce), PV1 (class N; VIP in
  PV1-16), OBX (ABO/Rh), GT1 (guarantor) and IN1/IN2 (coverages, the subscriber's
  address and phone when the subscriber is a contact on file); then one **A40** per
  merged chart (MRG-1 holds the retired MRN and patient id). These open the first file.
- one **A04** (or **A01** for an inpatient stay) per registration at ``registered_at``:
  the identity the person presented in PID, the insurance presented in IN1, the
  registrar in EVN-5, the facility in EVN-7, and the visit in PV1 (visit number PV1-19,
  registration id PV1-50);
- one **A08** per visit without a registration, and an A08 after discharge for every
  seventh registered visit (the same facts again: reading them adds nothing).

Files are ``adt_YYYYMMDD.hl7`` by the day of each message's event (the MPI snapshot is
filed under the first day), segments end in CR LF, messages follow one another. What
ADT does not carry: see ``NOT_CARRIED``. Same canonical input, same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path

from phiwarden.domain import canonical as c
from phiwarden.synth import hl7_segments as s
from phiwarden.synth.export_io import Row, load_rows

#: Canonical tables an ADT feed does not carry (load them from another source).
NOT_CARRIED: tuple[str, ...] = (
    "facilities",
    "departments",
    "workforce",
    "care_team",
    "orders",
    "prescriptions",
    "lab_results",
    "appointments",
    "calls",
    "billing_accounts",
    "transactions",
    "complaints",
    "eligibility_responses",
    "fraud_watch",
    "access_events",
)
#: Columns of carried tables that ADT does not carry.
NOT_CARRIED_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("watch_list",),
    "registrations": ("id_checked", "photo_on_file"),
}
UPDATE_EVERY = 7
Message = tuple[datetime, str, list[str]]  # (event time, trigger, segments without MSH)


def _by(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r[key]].append(r)
    return out


class _Hospital:
    """The canonical tables the writer needs, indexed for lookups."""

    def __init__(self, folder: Path, care_team: bool = False) -> None:
        self.team = _by(load_rows(folder, c.CARE_TEAM), "encounter_id") if care_team else {}
        self.patients = load_rows(folder, c.PATIENTS)
        self.by_patient = {p["patient_id"]: p for p in self.patients}
        self.workforce = {w["user_id"]: w for w in load_rows(folder, c.WORKFORCE)}
        self.addresses = _by(load_rows(folder, c.PATIENT_ADDRESSES), "patient_id")
        self.phones = _by(load_rows(folder, c.PATIENT_PHONES), "patient_id")
        self.contacts = _by(load_rows(folder, c.PATIENT_CONTACTS), "patient_id")
        self.coverages = _by(load_rows(folder, c.COVERAGES), "patient_id")
        self.encounters = load_rows(folder, c.ENCOUNTERS)
        self.registrations = load_rows(folder, c.REGISTRATIONS)
        self.merges = load_rows(folder, c.PATIENT_MERGES)

    def subscribers(self, patient_id: str) -> dict[str, Row]:
        """Each coverage paired with the subscriber contact of the same name, if any."""
        free = [k for k in self.contacts[patient_id] if k["kind"] == "subscriber"]
        pairs: dict[str, Row] = {}
        for cov in self.coverages[patient_id]:
            name = (cov.get("subscriber_first_name"), cov.get("subscriber_last_name"))
            match = next(
                (
                    k
                    for k in free
                    if (k.get("first_name"), k.get("last_name")) == name
                    and cov.get("subscriber_relationship") != "self"
                ),
                None,
            )
            if match is not None:
                pairs[cov["coverage_id"]] = match
                free.remove(match)
        return pairs

    def person_segments(self, p: Row) -> list[str]:
        """PID, NK1, PV1 placeholder, OBX, GT1 and IN1/IN2 of a patient's MPI record."""
        pid = p["patient_id"]
        segs = [s.pid_mpi(p, self.addresses[pid], self.phones[pid])]
        paired = self.subscribers(pid)
        used = {k["contact_id"] for k in paired.values()}
        n = 0
        for k in self.contacts[pid]:
            if k["kind"] in ("guarantor",) or k["contact_id"] in used:
                continue
            n += 1
            segs.append(s.nk1(n, k))
        if p.get("employee_user_id"):
            segs.append(s.nk1_employer(n + 1, p["employee_user_id"]))
        segs.append(s.pv1("N", vip=bool(p.get("vip"))))
        if p.get("blood_type"):
            segs.append(s.obx_blood_type(p["blood_type"]))
        guarantors = [k for k in self.contacts[pid] if k["kind"] == "guarantor"]
        segs += [s.gt1(i, k) for i, k in enumerate(guarantors, start=1)]
        for i, cov in enumerate(self.coverages[pid], start=1):
            segs += s.in1(i, cov, paired.get(cov["coverage_id"]))
        return segs


def _visit_messages(h: _Hospital) -> list[Message]:
    encounters = {e["encounter_id"]: e for e in h.encounters}
    registered = {r["encounter_id"] for r in h.registrations if r.get("encounter_id")}
    out: list[Message] = []
    for r in h.registrations:
        p: Row = h.by_patient.get(r["patient_id"]) or {}
        enc = encounters.get(r.get("encounter_id") or "")
        trigger = "A01" if enc is not None and enc.get("type") == "inpatient" else "A04"
        klass = s.patient_class(enc) if enc is not None else "N"
        segs = [
            s.evn(
                trigger,
                r["registered_at"],
                s.xcn(r.get("registered_by_user_id"), h.workforce),
                r.get("facility_id") or "",
            ),
            s.pid_presented(r, r.get("mrn") or p.get("mrn") or ""),
            s.pv1(
                klass,
                enc=enc,
                registration_id=r["registration_id"],
                workforce=h.workforce,
                vip=bool(p.get("vip")),
            ),
            *_roles(h, enc),
            *s.in1_presented(r),
        ]
        out.append((r["registered_at"], trigger, segs))
    updates = [e for e in h.encounters if e["encounter_id"] not in registered]
    updates += [
        encounters[k]
        for i, k in enumerate(sorted(registered))
        if i % UPDATE_EVERY == 0 and k in encounters
    ]
    for enc in updates:
        who = h.by_patient.get(enc["patient_id"])
        if who is None:
            continue
        when = enc.get("end") or enc["start"]
        person = h.person_segments(who)
        vip = bool(who.get("vip"))
        pv1 = s.pv1(s.patient_class(enc), enc=enc, workforce=h.workforce, vip=vip)
        segs = [s.evn("A08", when), *[pv1 if x.startswith("PV1|") else x for x in person]]
        at = next(i for i, x in enumerate(segs) if x.startswith("PV1|")) + 1
        segs[at:at] = _roles(h, enc)
        out.append((when, "A08", segs))
    return out


def _roles(h: _Hospital, enc: Row | None) -> list[str]:
    """ROL segments of the visit's care team (written only when asked for)."""
    if enc is None:
        return []
    members = h.team.get(enc["encounter_id"], [])
    return [s.rol(i, m["user_id"], m.get("role"), h.workforce) for i, m in enumerate(members, 1)]


def _mpi_messages(h: _Hospital, when: datetime) -> list[Message]:
    out: list[Message] = [
        (when, "A28", [s.evn("A28", when), *h.person_segments(p)]) for p in h.patients
    ]
    for m in h.merges:
        survivor = h.by_patient.get(m["surviving_patient_id"])
        if survivor is None:
            continue
        merged_at = m.get("merged_at") or when
        segs = [
            s.evn("A40", merged_at, s.xcn(m.get("merged_by_user_id"), h.workforce)),
            s.pid_mpi(survivor, [], []),
            s.mrg(m["merged_mrn"], m.get("merged_patient_id")),
        ]
        out.append((merged_at, "A40", segs))
    return out


def write_hl7(canonical_dir: Path, out_dir: Path, *, care_team: bool = False) -> int:
    """Write ``adt_YYYYMMDD.hl7`` files for the hospital; returns the messages written.

    ``care_team`` adds each visit's care team as ROL segments (the epic-like dialect).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("adt_*.hl7"):
        old.unlink()
    h = _Hospital(canonical_dir, care_team)
    visits = sorted(_visit_messages(h), key=lambda m: m[0])
    first = datetime.combine(visits[0][0].date() if visits else date(2000, 1, 1), time())
    by_day: dict[str, list[Message]] = defaultdict(list)
    by_day[f"{first:%Y%m%d}"] = _mpi_messages(h, first)
    for m in visits:
        by_day[f"{m[0]:%Y%m%d}"].append(m)
    control = 0
    for day in sorted(by_day):
        lines: list[str] = []
        for when, trigger, segs in by_day[day]:
            control += 1
            facility = (
                next(
                    (
                        x.split("|")[7]
                        for x in segs
                        if x.startswith("EVN|") and len(x.split("|")) > 7
                    ),
                    "",
                )
                or s.AUTHORITY
            )
            lines += [s.msh(when, facility, trigger, f"PHW{control:09d}"), *segs]
        text = "".join(f"{line}\r\n" for line in lines)
        (out_dir / f"adt_{day}.hl7").write_bytes(text.encode("utf-8"))
    return control
