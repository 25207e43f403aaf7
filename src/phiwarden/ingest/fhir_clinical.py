"""Map clinical resources: Encounter (with its care team), MedicationRequest, Observation.

Inverts the synthetic FHIR writers (``synth.fhir_*``):

- Encounter: type through the CodeMap from ``type`` and ``class`` (v3 ActCode AMB
  outpatient, IMP inpatient, EMER emergency, VR telehealth, HH home health; phiwarden's
  own type coding; the hospital's mapping; keywords), else null, counted;
  department from the first location (the Location's department), facility from
  ``serviceProvider`` (a department's facility when it names a department); the
  attending is the participant typed ``ATND``. Every other participant, and every one
  with an ``id``, is a care-team row (id = participant id, else ``<encounter>-<n>``;
  role from the ``urn:phiwarden:care-team-role`` coding or the type text).
- MedicationRequest: drug from the medication concept's text (or display, or the
  Medication reference); DEA schedule from phiwarden's extension, else from the RxNorm
  code or the drug's name through the shipped table of controlled ingredients
  (:mod:`phiwarden.formats.controlled`) or the hospital's mapping; ``authoredOn``.
- ServiceRequest: an ``orders`` row: kind through the CodeMap from ``category`` then
  ``code`` (SNOMED CT 108252007 lab, 363679005 imaging; v2-0074; keywords), else
  "other", counted; code (phiwarden's own order code, else the first coding's) and
  description (the code's text); encounter, patient, ``requester`` as ordering user,
  the first ``performer`` that names a department, ``authoredOn``.
- Appointment: an ``appointments`` row: the patient, the first Practitioner (or
  PractitionerRole) participant as provider, the first Location participant's
  department, ``start``, ``created`` as when it was booked, the status (fulfilled ->
  completed, booked -> scheduled, noshow -> no_show, else as written). R4 names no
  booking user, so ``scheduled_by_user_id`` stays empty.
- Communication: a ``calls`` row: the workforce member is the first Practitioner (or
  PractitionerRole) among ``recipient``, else the ``sender``; the patient is ``subject``
  (else a Patient sender or recipient); start is ``sent`` (else ``received``), end
  ``received`` when later; reason from ``reasonCode``, ``topic`` or ``category``. A
  Communication with no workforce member is not a contact of the hospital's staff and
  gives no row.
- Observation: every Observation is a lab result; test from ``code``, value from
  ``value[x]``. The ABO/Rh group (LOINC 882-1) is stored as test ``ABO/Rh`` with its
  value read as ``A+``, ``O-``..., so the blood-type red flag can use it. The order id
  (``basedOn`` identifier ``urn:phiwarden:order-id`` or a ServiceRequest reference) is
  kept only when that order is in the store (ServiceRequests load before Observations):
  an order the export does not carry must not cost the result.
"""

from __future__ import annotations

import re

from phiwarden.formats import fhir_codes as fc
from phiwarden.ingest.fhir_directory import Directory
from phiwarden.ingest.fhir_sink import Sink
from phiwarden.ingest.fhir_values import (
    JSON,
    all_codes,
    code_in,
    codings,
    concept_text,
    extension,
    obj,
    objs,
    ref_id,
    text,
    wall_clock,
)

#: LOINC ABO and Rh group [Type] in Blood
BLOOD_TYPE_LOINC = "882-1"
_PARTICIPATION = {"ATND", "PART"}


def _encounter_type(res: JSON, d: Directory) -> str | None:
    cls = res.get("class")
    concepts = [*objs(res.get("type")), *(objs(cls) if isinstance(cls, list) else [obj(cls)])]
    return d.codes.lookup("encounter_type", concepts, own_system=fc.ENCOUNTER_TYPE_SYSTEM)


def _care_role(concepts: object) -> str | None:
    found = code_in(concepts, fc.CARE_TEAM_ROLE_SYSTEM)
    if found:
        return found
    for concept in objs(concepts):
        found = text(concept.get("text"))
        if found:
            return found
        for coding in objs(concept.get("coding")):
            if coding.get("code") not in _PARTICIPATION:
                found = text(coding.get("display")) or text(coding.get("code"))
                if found:
                    return found
    return None


def encounter(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """An ``encounters`` row and its ``care_team`` rows."""
    ident = text(res.get("id"))
    attending: str | None = None
    team: list[JSON] = []
    for i, part in enumerate(objs(res.get("participant"))):
        user = d.user(part.get("individual"))
        if user is None:
            continue
        is_attending = any(code == "ATND" for _, code in all_codes(part.get("type")))
        if is_attending and attending is None:
            attending = user
        part_id = text(part.get("id"))
        if part_id is not None or not is_attending:
            team.append(
                {
                    "care_team_id": part_id or (f"{ident}-{i + 1}" if ident else None),
                    "encounter_id": ident,
                    "user_id": user,
                    "role": _care_role(part.get("type")),
                }
            )
    places = objs(res.get("location"))
    provider = ref_id(res.get("serviceProvider"), "Organization")
    period = obj(res.get("period"))
    row: JSON = {
        "encounter_id": ident,
        "patient_id": ref_id(res.get("subject"), "Patient"),
        "type": _encounter_type(res, d),
        "department_id": d.department_at(ref_id(places[0].get("location"), "Location"))
        if places
        else None,
        "facility_id": d.facility_of(provider),
        "start": wall_clock(period.get("start")),
        "end": wall_clock(period.get("end")),
        "attending_user_id": attending,
    }
    sink.add("encounters", row, location)
    for member in team:
        sink.add("care_team", member, location)
    return None


def medication_request(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A ``prescriptions`` row."""
    medication = obj(res.get("medicationReference"))
    schedule = extension(res, fc.EXT_DEA_SCHEDULE)
    concept = res.get("medicationCodeableConcept")
    named = [concept] if concept else [{"text": text(medication.get("display"))}]
    row: JSON = {
        "prescription_id": text(res.get("id")),
        "encounter_id": ref_id(res.get("encounter"), "Encounter"),
        "patient_id": ref_id(res.get("subject"), "Patient"),
        "prescriber_user_id": d.user(res.get("requester")),
        "drug": concept_text(res.get("medicationCodeableConcept"))
        or text(medication.get("display"))
        or ref_id(medication, "Medication"),
        "dea_schedule": text(obj(schedule.get("valueCoding")).get("code"))
        or text(schedule.get("valueString"))
        or text(schedule.get("valueCode"))
        or d.codes.dea_schedule(named),
        "prescribed_at": wall_clock(res.get("authoredOn")),
    }
    sink.add("prescriptions", row, location)
    return None


def service_request(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """An ``orders`` row."""
    code = obj(res.get("code"))
    kind = d.codes.lookup("order_kind", [*objs(res.get("category")), code])
    performer = next(
        (
            dept
            for dept in (
                d.department_of(ref_id(p, "Organization")) for p in objs(res.get("performer"))
            )
            if dept is not None
        ),
        None,
    )
    first = next(iter(codings(code)), {})
    row: JSON = {
        "order_id": text(res.get("id")),
        "encounter_id": ref_id(res.get("encounter"), "Encounter"),
        "patient_id": ref_id(res.get("subject"), "Patient"),
        "kind": kind or d.codes.fallback("order_kind", "other"),
        "code": code_in(code, fc.ORDER_CODE_SYSTEM) or text(first.get("code")),
        "description": text(code.get("text")) or text(first.get("display")),
        "ordered_by_user_id": d.user(res.get("requester")),
        "performing_department_id": performer,
        "ordered_at": wall_clock(res.get("authoredOn")),
    }
    sink.add("orders", row, location)
    return None


_APPOINTMENT_STATUS = {"fulfilled": "completed", "booked": "scheduled", "noshow": "no_show"}


def appointment(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """An ``appointments`` row."""
    actors = [obj(p.get("actor")) for p in objs(res.get("participant"))]
    status = text(res.get("status"))
    row: JSON = {
        "appointment_id": text(res.get("id")),
        "patient_id": next((p for p in (ref_id(a, "Patient") for a in actors) if p), None),
        "department_id": next(
            (x for x in (d.department_at(ref_id(a, "Location")) for a in actors) if x), None
        ),
        "provider_user_id": next((u for u in (d.user(a) for a in actors) if u), None),
        "scheduled_by_user_id": None,
        "scheduled_at": wall_clock(res.get("created")),
        "start": wall_clock(res.get("start")),
        "status": _APPOINTMENT_STATUS.get(status or "", status),
    }
    sink.add("appointments", row, location)
    return None


def communication(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A ``calls`` row for a Communication between a workforce member and a patient."""
    recipients = objs(res.get("recipient"))
    people = [*recipients, obj(res.get("sender"))]
    user = next((u for u in (d.user(p) for p in people) if u is not None), None)
    if user is None:
        return None
    patient = ref_id(res.get("subject"), "Patient") or next(
        (p for p in (ref_id(x, "Patient") for x in people) if p is not None), None
    )
    sent, received = wall_clock(res.get("sent")), wall_clock(res.get("received"))
    reason = next(
        (
            concept_text(c)
            for c in (
                *objs(res.get("reasonCode")),
                obj(res.get("topic")),
                *objs(res.get("category")),
            )
            if concept_text(c)
        ),
        None,
    )
    row: JSON = {
        "call_id": text(res.get("id")),
        "patient_id": patient,
        "user_id": user,
        "start": sent or received,
        "end": received if sent and received and received > sent else None,
        "reason": reason,
    }
    sink.add("calls", row, location)
    return None


def _order(res: JSON, d: Directory) -> str | None:
    for based in objs(res.get("basedOn")):
        ident = obj(based.get("identifier"))
        found = (
            text(ident.get("value")) if ident.get("system") == fc.ORDER_SYSTEM else None
        ) or ref_id(based, "ServiceRequest")
        if found:
            return found if d.known_orders is not None and found in d.known_orders else None
    return None


def _value(res: JSON) -> str | None:
    quantity = obj(res.get("valueQuantity"))
    if quantity:
        amount, unit = text(quantity.get("value")), text(quantity.get("unit"))
        return " ".join(v for v in (amount, unit) if v) or None
    if "valueCodeableConcept" in res:
        return concept_text(res.get("valueCodeableConcept"))
    for key in ("valueString", "valueInteger", "valueDateTime", "valueTime"):
        found = text(res.get(key))
        if found is not None:
            return found
    flag = res.get("valueBoolean")
    return ("true" if flag else "false") if isinstance(flag, bool) else None


_BLOOD_GROUP = re.compile(r"\b(AB|A|B|O)\b\W*(?:Rh\W*(?:\(D\))?\W*)?(pos|neg|\+|-)", re.I)


def blood_group(value: str | None) -> str | None:
    """``A+``, ``O-``... from an ABO/Rh value as an export writes it, else the value."""
    if value is None:
        return None
    found = _BLOOD_GROUP.search(value.replace("positive", "pos").replace("negative", "neg"))
    if found is None:
        return value
    sign = "+" if found.group(2).lower() in ("pos", "+") else "-"
    return found.group(1).upper() + sign


def observation(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """A ``lab_results`` row."""
    performer = next(
        (u for u in (d.user(p) for p in objs(res.get("performer"))) if u is not None), None
    )
    effective = (
        res.get("effectiveDateTime")
        or res.get("effectiveInstant")
        or obj(res.get("effectivePeriod")).get("start")
        or res.get("issued")
    )
    abo = any(s == fc.LOINC and c == BLOOD_TYPE_LOINC for s, c in all_codes(res.get("code")))
    row: JSON = {
        "result_id": text(res.get("id")),
        "order_id": _order(res, d),
        "patient_id": ref_id(res.get("subject"), "Patient"),
        "test": "ABO/Rh" if abo else concept_text(res.get("code")),
        "value": blood_group(_value(res)) if abo else _value(res),
        "resulted_by_user_id": performer,
        "resulted_at": wall_clock(effective),
    }
    sink.add("lab_results", row, location)
    return None
