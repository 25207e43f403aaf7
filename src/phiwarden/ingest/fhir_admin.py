"""Map the organisation side of FHIR: Organization, Location, Practitioner, PractitionerRole.

Inverts ``synth.fhir_resources`` and reads other servers' exports the same way:

- An Organization typed ``ins``/``pay`` is a payer (its name names coverages, no row). One
  typed ``dept``, carrying a ``urn:phiwarden:department-kind`` coding, or ``partOf``
  another is a department (``facilities`` row of the Organization it is part of, followed
  upwards); any other is a facility. Organizations are held until all are read, then
  facilities are loaded before departments.
- A Location gives no row: it stands for the Organization that manages it (else for the
  Organization with its own id), so an Encounter's location names a department.
- A workforce row is a Practitioner (user id = resource id; login from the
  ``urn:phiwarden:login`` identifier, else the id; name, phone, home address) completed by
  its first PractitionerRole (role code, department, employment period, shift hours from
  ``availableTime``, manager extension). Practitioners are held until the roles are read.
"""

from __future__ import annotations

from phiwarden.ingest.fhir_directory import DEPARTMENT, FACILITY, PAYER, Directory, Held, Org
from phiwarden.ingest.fhir_sink import Sink
from phiwarden.ingest.fhir_values import (
    JSON,
    address_fields,
    all_codes,
    code_in,
    concept_text,
    current_address,
    current_name,
    date_part,
    extension,
    identifier,
    name_parts,
    obj,
    objs,
    phone,
    ref_id,
    text,
)
from phiwarden.synth import fhir_codes as fc

_PAYER_TYPES = {"ins", "pay"}


def _org_kind(res: JSON) -> str:
    codes = {code for _, code in all_codes(res.get("type"))}
    if codes & _PAYER_TYPES:
        return PAYER
    if "dept" in codes or code_in(res.get("type"), fc.DEPARTMENT_KIND_SYSTEM) or res.get("partOf"):
        return DEPARTMENT
    return FACILITY


def organization(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """Hold an Organization until every Organization is read (see ``finish_organizations``)."""
    ident = text(res.get("id"))
    kind = _org_kind(res)
    name = text(res.get("name"))
    part_of = ref_id(res.get("partOf"), "Organization")
    row: JSON = {"name": name}
    if kind == FACILITY:
        addresses = objs(res.get("address"))
        addr = address_fields(addresses[0] if addresses else {})
        row.update(facility_id=ident, city=addr["city"], state=addr["state"])
    elif kind == DEPARTMENT:
        row.update(department_id=ident, kind=code_in(res.get("type"), fc.DEPARTMENT_KIND_SYSTEM))
    # Without an id it is still loaded, so that the loader quarantines it.
    key = ident if ident is not None else f"\0{sink.source}\0{location}"
    org = d.orgs.setdefault(key, Org(kind, name, part_of))
    if kind != PAYER:
        org.held.append(Held(row, sink.source, location))
    return None


def finish_organizations(d: Directory, sink: Sink) -> None:
    """Load the held facilities, then the departments with the facility each belongs to."""
    for kind, table in ((FACILITY, "facilities"), (DEPARTMENT, "departments")):
        for org in d.orgs.values():
            if org.kind != kind:
                continue
            for held in org.held:
                if kind == DEPARTMENT:
                    held.row["facility_id"] = d.facility_of(org.part_of)
                sink.begin(held.source, "Organization")
                sink.add(table, held.row, held.location)
            org.held.clear()
        sink.flush()


def location(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """Remember which Organization a Location stands for."""
    ident = text(res.get("id"))
    if ident is not None:
        managing = ref_id(res.get("managingOrganization"), "Organization")
        d.location_org[ident] = managing if managing in d.orgs else ident
    return None


def practitioner(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """Hold the person half of a workforce row until its PractitionerRole is read."""
    ident = text(res.get("id"))
    first, _, last = name_parts(current_name(res.get("name")))
    row: JSON = {
        "user_id": ident,
        "login": identifier(res, fc.LOGIN_SYSTEM) or ident,
        "first_name": first,
        "last_name": last,
        "phone": phone(res.get("telecom")),
        **address_fields(current_address(res.get("address"))),
    }
    key = ident if ident is not None else f"\0{sink.source}\0{location}"
    d.practitioners.setdefault(key, []).append(Held(row, sink.source, location))
    return None


def _hour(value: object) -> int | None:
    found = text(value)
    if found is None or not found[:2].isdigit():
        return None
    return int(found[:2])


def practitioner_role(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """Complete a held Practitioner with its job: role, department, period, shift, manager."""
    ident = text(res.get("id"))
    user = ref_id(res.get("practitioner"), "Practitioner") or ident
    if ident is not None and user is not None:
        d.role_practitioner[ident] = user
    held = d.practitioners.get(user) if user is not None else None
    if not held:
        return (
            "PractitionerRole of a Practitioner that is not in this input: "
            "ingest the Practitioner resources together with their roles"
        )
    row = held[0].row
    if row.get("role") is not None:
        return None  # the first role of a practitioner is the one kept
    codes = objs(res.get("code"))
    row["role"] = code_in(codes, fc.ROLE_SYSTEM) or (concept_text(codes[0]) if codes else None)
    org = ref_id(res.get("organization"), "Organization")
    locations = objs(res.get("location"))
    site = ref_id(locations[0], "Location") if locations else None
    row["department_id"] = d.department_of(org) or d.department_at(site)
    period = obj(res.get("period"))
    row["hire_date"] = date_part(period.get("start"))
    row["termination_date"] = date_part(period.get("end"))
    times = objs(res.get("availableTime"))
    if times:
        row["shift_start_hour"] = _hour(times[0].get("availableStartTime"))
        row["shift_end_hour"] = _hour(times[0].get("availableEndTime"))
    row["manager_id"] = ref_id(extension(res, fc.EXT_MANAGER).get("valueReference"), "Practitioner")
    return None


def finish_workforce(d: Directory, sink: Sink) -> None:
    """Load every held workforce row (one without a role is quarantined by the loader).

    A Practitioner that occurs more than once is loaded with its first row (completed by
    its role) each time, so the repeats count as duplicates.
    """
    for held in d.practitioners.values():
        for repeat in held:
            sink.begin(repeat.source, "Practitioner")
            sink.add("workforce", dict(held[0].row), repeat.location)
    d.practitioners.clear()
    sink.flush()
