"""What one FHIR ingest remembers between resource types.

FHIR spreads one canonical record over several resources, and a later resource needs
facts from an earlier one: a department is an Organization ``partOf`` a facility, an
Encounter names a Location that stands for a department, a workforce member is a
Practitioner plus a PractitionerRole, a Coverage names its subscriber by reference. The
reader loads resource types in dependency order and keeps those facts here, in memory,
for the run (a few small maps; the people map holds name and birth date per person).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phiwarden.formats.terminology import CodeMap
from phiwarden.ingest.fhir_values import ref_parts

Row = dict[str, Any]
#: Who a person reference names: first name, last name, birth date.
Person = tuple[str | None, str | None, str | None]

FACILITY = "facility"
DEPARTMENT = "department"
PAYER = "payer"
_USER_TYPES = ("Practitioner", "PractitionerRole")


@dataclass
class Held:
    """A row waiting for a later resource type, with where it was read."""

    row: Row
    source: str
    location: str


@dataclass
class Org:
    """An Organization: facility, department or payer, its name and parent.

    ``held`` are its rows waiting to be loaded, one per time it occurs in the input (a
    repeat reaches the loader too, which counts it as a duplicate).
    """

    kind: str
    name: str | None
    part_of: str | None
    held: list[Held] = field(default_factory=list)
    #: a department's type concepts and names (its own and its Locations'), for its kind
    concepts: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    kind_value: str | None = None


@dataclass
class Directory:
    """Facts carried from earlier resource types to later ones during one ingest."""

    orgs: dict[str, Org] = field(default_factory=dict)
    location_org: dict[str, str] = field(default_factory=dict)
    role_practitioner: dict[str, str] = field(default_factory=dict)
    practitioners: dict[str, list[Held]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    contact_ids: set[str] = field(default_factory=set)
    known_orders: set[str] | None = None
    #: standard tables plus the hospital's mapping file; counts what it could not map
    codes: CodeMap = field(default_factory=CodeMap)
    #: employee number (identifier type EI) -> workforce user id
    employee_numbers: dict[str, str] = field(default_factory=dict)

    def facility_of(self, org_id: str | None) -> str | None:
        """The facility an Organization is or belongs to (following ``partOf`` upwards)."""
        seen: set[str] = set()
        current = org_id
        while current is not None and current not in seen:
            seen.add(current)
            org = self.orgs.get(current)
            if org is None or org.kind == FACILITY:
                return current
            if org.kind == PAYER:
                return None
            current = org.part_of
        return None

    def department_of(self, org_id: str | None) -> str | None:
        """The department an Organization id stands for (None for a facility or payer)."""
        if org_id is None:
            return None
        org = self.orgs.get(org_id)
        return org_id if org is None or org.kind == DEPARTMENT else None

    def department_at(self, location_id: str | None) -> str | None:
        """The department a Location stands for (its managing Organization, else itself)."""
        if location_id is None:
            return None
        return self.department_of(self.location_org.get(location_id, location_id))

    def user(self, reference: Any) -> str | None:
        """The workforce user id a Practitioner or PractitionerRole reference names."""
        parts = ref_parts(reference)
        if parts is None or parts[0] not in _USER_TYPES:
            return None
        kind, ident = parts
        return self.role_practitioner.get(ident, ident) if kind == "PractitionerRole" else ident

    def person(self, reference: Any) -> Person:
        """Name and birth date of the Patient or RelatedPerson a reference names."""
        parts = ref_parts(reference)
        if parts is None:
            return (None, None, None)
        return self.people.get(f"{parts[0]}/{parts[1]}", (None, None, None))
