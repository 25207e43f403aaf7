"""Map the organisation side of FHIR: Organization, Location, Practitioner, PractitionerRole.

Inverts the synthetic FHIR writers (``synth.fhir_*``) and reads other servers' exports the same way:

- An Organization typed ``ins``/``pay`` is a payer (its name names coverages, no row). One
  typed ``dept`` (organization-type) or ``partOf`` another is a department (``facilities``
  row of the Organization it is part of, followed upwards); any other is a facility.
  Organizations are held until every Location is read too, then facilities are loaded
  before departments.
- A department's kind comes from :class:`~phiwarden.formats.terminology.CodeMap`: the
  hospital's mapping, the standard codes on its ``type`` and on its Locations' ``type``
  (v3 ServiceDeliveryLocationRoleType), keywords in its name, alias and type text; else
  it is "clinical", counted. phiwarden's own kind coding is read but never needed.
- A Location gives no row: it stands for the Organization that manages it (else for the
  Organization with its own id), so an Encounter's location names a department.
- A workforce row is a Practitioner (user id = resource id; login from a login
  identifier, else the id; name, phone, home address; employee number from an identifier
  of type ``EI``) completed by its first PractitionerRole (role from ``code`` and
  ``specialty`` through the CodeMap, else the department's usual role, else "other";
  department; employment period, or ``active`` false; shift hours from
  ``availableTime``, absent meaning the facility's hours; manager extension).
  Practitioners are held until the roles are read.
"""

from __future__ import annotations

from phiwarden.domain.enums import DepartmentKind, Role
from phiwarden.formats import fhir_codes as fc
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
    strs,
    text,
)

_PAYER_TYPES = {"ins", "pay"}
_LOGIN_TYPES = ("login", "username", "user", "network", "ad")


def _kind_concepts(res: JSON) -> list[JSON]:
    """The type concepts of an Organization without its organization-type codings."""
    out = []
    for concept in objs(res.get("type")):
        kept = [c for c in objs(concept.get("coding")) if c.get("system") != fc.ORGANIZATION_TYPE]
        out.append({**concept, "coding": kept})
    return out


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
        row.update(department_id=ident, kind=None)
    # Without an id it is still loaded, so that the loader quarantines it.
    key = ident if ident is not None else f"\0{sink.source}\0{location}"
    org = d.orgs.setdefault(key, Org(kind, name, part_of))
    if kind == DEPARTMENT:
        org.concepts.extend(_kind_concepts(res))
        org.names.extend(n for n in (name, *strs(res.get("alias"))) if n)
    if kind != PAYER:
        org.held.append(Held(row, sink.source, location))
    return None


def department_kind(org: Org, d: Directory) -> str:
    """A department's kind from its codes and names (and its Locations'), else clinical."""
    found = d.codes.lookup(
        "department_kind", org.concepts, own_system=fc.DEPARTMENT_KIND_SYSTEM, names=org.names
    )
    return found or d.codes.fallback("department_kind", DepartmentKind.CLINICAL.value)


def finish_organizations(d: Directory, sink: Sink) -> None:
    """Load the held facilities, then the departments with their facility and kind.

    Runs once the Locations are read too, so that a Location's type can give the kind of
    the department that manages it.
    """
    for kind, table in ((FACILITY, "facilities"), (DEPARTMENT, "departments")):
        for org in d.orgs.values():
            if org.kind != kind:
                continue
            if kind == DEPARTMENT and org.held:
                org.kind_value = department_kind(org, d)
            for held in org.held:
                if kind == DEPARTMENT:
                    held.row["facility_id"] = d.facility_of(org.part_of)
                    held.row["kind"] = org.kind_value
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
        org = d.orgs.get(d.location_org[ident])
        if org is not None and org.kind == DEPARTMENT:
            org.concepts.extend(objs(res.get("type")))
            org.names.extend(n for n in (text(res.get("name")), *strs(res.get("alias"))) if n)
    return None


def practitioner(res: JSON, location: str, d: Directory, sink: Sink) -> str | None:
    """Hold the person half of a workforce row until its PractitionerRole is read."""
    ident = text(res.get("id"))
    first, _, last = name_parts(current_name(res.get("name")))
    employee = identifier(res, "", "EI")
    if employee is not None and ident is not None:
        d.employee_numbers.setdefault(employee, ident)
    row: JSON = {
        "user_id": ident,
        "login": identifier(res, fc.LOGIN_SYSTEM) or _login(res) or ident,
        "first_name": first,
        "last_name": last,
        "phone": phone(res.get("telecom")),
        **address_fields(current_address(res.get("address"))),
    }
    key = ident if ident is not None else f"\0{sink.source}\0{location}"
    d.practitioners.setdefault(key, []).append(Held(row, sink.source, location))
    return None


def _login(res: JSON) -> str | None:
    """A login from an identifier whose system or type text says it is one."""
    for ident in objs(res.get("identifier")):
        system = (text(ident.get("system")) or "").lower().rstrip("/")
        kind = (concept_text(ident.get("type")) or "").lower()
        last = system.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if last in _LOGIN_TYPES or kind in _LOGIN_TYPES:
            return text(ident.get("value"))
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
    org = ref_id(res.get("organization"), "Organization")
    locations = objs(res.get("location"))
    site = ref_id(locations[0], "Location") if locations else None
    row["department_id"] = d.department_of(org) or d.department_at(site)
    row["role"] = _role(res, d, row["department_id"])
    period = obj(res.get("period"))
    row["hire_date"] = date_part(period.get("start"))
    row["termination_date"] = date_part(period.get("end"))
    if row["termination_date"] is None and res.get("active") is False:
        # inactive with no end date: the last update is the latest the role can have ended
        row["termination_date"] = date_part(obj(res.get("meta")).get("lastUpdated"))
    times = objs(res.get("availableTime"))
    if times:
        row["shift_start_hour"] = _hour(times[0].get("availableStartTime"))
        row["shift_end_hour"] = _hour(times[0].get("availableEndTime"))
    row["manager_id"] = ref_id(extension(res, fc.EXT_MANAGER).get("valueReference"), "Practitioner")
    return None


def _role(res: JSON, d: Directory, department_id: str | None) -> str:
    """The canonical role of a PractitionerRole: codes, specialty, department, else other."""
    found = d.codes.lookup(
        "role", [*objs(res.get("code")), *objs(res.get("specialty"))], own_system=fc.ROLE_SYSTEM
    )
    if found is not None:
        return found
    dept = d.orgs.get(department_id or "")
    by_department = d.codes.role_of_department(dept.kind_value if dept is not None else None)
    return d.codes.fallback("role", by_department or Role.OTHER.value)


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
