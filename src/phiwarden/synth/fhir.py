"""Export the canonical synthetic hospital as FHIR R4 bulk-data NDJSON.

One file per resource type (``Patient.ndjson``, ``AuditEvent.ndjson``, ...), one resource
per line, ids equal to the canonical ids so every reference resolves to a resource in
another file. This is the FHIR input the ingest side reads; the mapping choices are
described in ``fhir_resources``, ``fhir_directory`` and ``fhir_care`` (operational records)
and ``fhir_audit`` (access events).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from phiwarden.domain import canonical as c
from phiwarden.synth import fhir_care, fhir_directory
from phiwarden.synth import fhir_resources as fr
from phiwarden.synth.export_io import Row, iso_date, load_rows
from phiwarden.synth.fhir_appointments import appointment
from phiwarden.synth.fhir_audit import write_audit_events
from phiwarden.synth.fhir_calls import communication
from phiwarden.synth.fhir_datatypes import JSON
from phiwarden.synth.fhir_orders import service_request


def _write_ndjson(path: Path, resources: Iterable[JSON]) -> int:
    """Write resources one compact JSON object per line; return how many."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for res in resources:
            out.write(json.dumps(res, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def _group(rows: list[Row], key: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.get(key) is not None:
            groups[row[key]].append(row)
    return groups


def _same_person(first: str | None, last: str | None, other: Row) -> bool:
    def norm(v: str | None) -> str:
        return (v or "").strip().lower()

    return (norm(last), norm(first)) == (
        norm(other.get("last_name")),
        norm(other.get("first_name")),
    )


class _Subscribers:
    """Resolve each coverage's subscriber to the Patient, a contact, or a new RelatedPerson."""

    def __init__(self, patients: dict[str, Row], contacts: dict[str, list[Row]]) -> None:
        self.patients = patients
        self.contacts = contacts
        self.contact_dob: dict[str, str] = {}
        self.extra: list[JSON] = []

    def reference(self, cov: Row) -> JSON:
        """The ``Coverage.subscriber`` reference for one coverage row."""
        pid = cov["patient_id"]
        first, last = cov.get("subscriber_first_name"), cov.get("subscriber_last_name")
        rel = (cov.get("subscriber_relationship") or "").strip().lower()
        patient = self.patients.get(pid)
        dob = iso_date(cov["subscriber_dob"]) if cov.get("subscriber_dob") else None
        same_dob = (
            dob is None
            or patient is None
            or not patient.get("dob")
            or iso_date(patient["dob"]) == dob
        )
        if same_dob and (
            rel == "self"
            or not (first or last)
            or (patient is not None and _same_person(first, last, patient))
        ):
            # The patient is their own subscriber only when the birth date agrees too: a
            # different one is exactly the insurance-identity mismatch the red flags look for.
            return {"reference": f"Patient/{pid}"}
        candidates = [r for r in self.contacts.get(pid, []) if _same_person(first, last, r)]
        candidates.sort(key=lambda r: (r["kind"] != "subscriber", r["contact_id"]))
        if candidates:
            contact_id = candidates[0]["contact_id"]
            if dob:
                self.contact_dob.setdefault(contact_id, dob)
            return {"reference": f"RelatedPerson/{contact_id}"}
        rp_id = f"{cov['coverage_id']}-subscriber"
        row: Row = {
            "contact_id": rp_id,
            "patient_id": pid,
            "kind": "subscriber",
            "first_name": first,
            "last_name": last,
            "relationship": cov.get("subscriber_relationship"),
        }
        self.extra.append(fr.related_person(row, dob))
        return {"reference": f"RelatedPerson/{rp_id}"}


def write_fhir(canonical_dir: Path, out_dir: Path) -> dict[str, int]:
    """Write ``<Type>.ndjson`` for every resource type into ``out_dir``; return the counts.

    Reads ``canonical_dir/<table>.csv`` and ``canonical_dir/access_events/**.parquet``
    (one day file at a time, so memory stays flat however many events there are).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    facilities = load_rows(canonical_dir, c.FACILITIES)
    departments = load_rows(canonical_dir, c.DEPARTMENTS)
    workforce = load_rows(canonical_dir, c.WORKFORCE)
    counts: dict[str, int] = {}
    counts["Organization"] = _write_ndjson(
        out_dir / "Organization.ndjson",
        [
            *(fhir_directory.organization_facility(r) for r in facilities),
            *(fhir_directory.organization_department(r) for r in departments),
        ],
    )
    counts["Location"] = _write_ndjson(
        out_dir / "Location.ndjson",
        [
            *(fhir_directory.location_facility(r) for r in facilities),
            *(fhir_directory.location_department(r) for r in departments),
        ],
    )
    counts["Practitioner"] = _write_ndjson(
        out_dir / "Practitioner.ndjson", (fhir_directory.practitioner(r) for r in workforce)
    )
    counts["PractitionerRole"] = _write_ndjson(
        out_dir / "PractitionerRole.ndjson",
        (fhir_directory.practitioner_role(r) for r in workforce),
    )
    del facilities, departments, workforce

    patients = load_rows(canonical_dir, c.PATIENTS)
    contacts = _group(load_rows(canonical_dir, c.PATIENT_CONTACTS), "patient_id")
    phones = _group(load_rows(canonical_dir, c.PATIENT_PHONES), "patient_id")
    history = _group(load_rows(canonical_dir, c.PATIENT_ADDRESSES), "patient_id")
    counts["Patient"] = _write_ndjson(
        out_dir / "Patient.ndjson",
        (
            fr.patient(
                r,
                phones.get(r["patient_id"], []),
                history.get(r["patient_id"], []),
                contacts.get(r["patient_id"], []),
            )
            for r in patients
        ),
    )
    del phones, history

    subscribers = _Subscribers({r["patient_id"]: r for r in patients}, contacts)
    coverages = [
        fr.coverage(r, subscribers.reference(r)) for r in load_rows(canonical_dir, c.COVERAGES)
    ]
    counts["Coverage"] = _write_ndjson(out_dir / "Coverage.ndjson", coverages)
    related = [
        fr.related_person(r, subscribers.contact_dob.get(r["contact_id"]))
        for rows in contacts.values()
        for r in rows
    ]
    related.sort(key=lambda res: str(res["id"]))
    counts["RelatedPerson"] = _write_ndjson(
        out_dir / "RelatedPerson.ndjson", [*related, *subscribers.extra]
    )
    del patients, contacts, coverages, related

    team = _group(load_rows(canonical_dir, c.CARE_TEAM), "encounter_id")
    counts["Encounter"] = _write_ndjson(
        out_dir / "Encounter.ndjson",
        (
            fhir_care.encounter(r, team.get(r["encounter_id"], []))
            for r in load_rows(canonical_dir, c.ENCOUNTERS)
        ),
    )
    del team
    counts["MedicationRequest"] = _write_ndjson(
        out_dir / "MedicationRequest.ndjson",
        (fhir_care.medication_request(r) for r in load_rows(canonical_dir, c.PRESCRIPTIONS)),
    )
    orders = load_rows(canonical_dir, c.ORDERS)
    counts["ServiceRequest"] = _write_ndjson(
        out_dir / "ServiceRequest.ndjson", (service_request(r) for r in orders)
    )
    order_encounter = {r["order_id"]: r.get("encounter_id") for r in orders}
    del orders
    counts["Observation"] = _write_ndjson(
        out_dir / "Observation.ndjson",
        (
            fhir_care.observation(r, order_encounter.get(r.get("order_id") or ""))
            for r in load_rows(canonical_dir, c.LAB_RESULTS)
        ),
    )
    counts["Appointment"] = _write_ndjson(
        out_dir / "Appointment.ndjson",
        (appointment(r) for r in load_rows(canonical_dir, c.APPOINTMENTS)),
    )
    counts["Communication"] = _write_ndjson(
        out_dir / "Communication.ndjson",
        (communication(r) for r in load_rows(canonical_dir, c.CALLS)),
    )
    counts["AuditEvent"] = write_audit_events(canonical_dir, out_dir / "AuditEvent.ndjson")
    return counts
