"""HL7 v2 master files: the directory of locations (MFN^M05) and staff (MFN^M02).

A hospital's interface engine sends who works where as master-file notifications; ADT
then names those locations and people. Each record is an MFE segment followed by its
segments:

- **Locations** (MFI-1 ``LOC``): LOC-1 (PL) names the location. One with only PL.4 (a
  facility) is a facility: LOC-2 its name, LOC-5 its address (city, state). One with
  PL.1 (a point of care) is a department of the facility in PL.4: LOC-2 its name; its
  kind is read from LDP-2 (location department, table 0264), LDP-3 (hospital service,
  table 0069) and the name, through the shipped keywords and the hospital's mapping
  (``[department_kinds]``), else ``clinical``, counted.
- **Staff** (MFI-1 ``STF`` or ``PRA``): STF-1 the user id; STF-2 the login (the
  repetition typed ``LOGIN``, ``UN`` or ``UID``: sites differ, there is no standard
  type); STF-3 the name; STF-8 (else ORG-2) the department; STF-10 phone; STF-11 address;
  STF-12 / STF-13 (institution activation / inactivation dates) hire and termination,
  and MFE-1 ``MDC`` (deactivate) with MFE-3 terminates. The role is read from STF-4
  (staff type, table 0182, site-defined), PRA-3 (practitioner category), PRA-5
  (specialty), STF-18 (job title) and STF-19 (job code) through the hospital's mapping
  (``[roles]``) and the shipped keywords, else from the department's kind, else
  ``other``, counted. HL7 carries no shift: the monitor uses the facility's hours.

The loader inserts each record once by key, so the first notification of a record wins.
"""

from __future__ import annotations

from typing import Any

from phiwarden.domain import canonical as c
from phiwarden.formats.terminology import CodeMap
from phiwarden.ingest.hl7_er7 import Hl7Error, Message, Segment
from phiwarden.ingest.hl7_segments import Row, hl7_date, phone_text
from phiwarden.ingest.hl7_segments import address_parts as _address


def _none(value: str) -> str | None:
    return value or None


LOGIN_TYPES = frozenset({"LOGIN", "UN", "UID"})
#: HL7 v2 tables as the code systems the shipped terminology names.
V2 = "http://terminology.hl7.org/CodeSystem/v2-{:04d}"
TABLES: tuple[c.CanonicalTable, ...] = (c.FACILITIES, c.DEPARTMENTS, c.WORKFORCE)


def _concept(seg: Segment | None, n: int) -> dict[str, Any] | None:
    """A CE/CWE/IS field as a FHIR-shaped concept the CodeMap reads.

    The tables these fields use (0182, 0186, 0264, 0069) are site-defined, so a code is
    the site's own: it maps through the hospital's file or its text's keywords.
    """
    if seg is None or not seg.get(n):
        return None
    code, text = seg.get(n, 1), seg.get(n, 2)
    return {"coding": [{"code": code, "display": text or None}], "text": text or None}


def _records(msg: Message) -> list[tuple[Segment, list[Segment]]]:
    """Each MFE with the segments that follow it, up to the next MFE."""
    out: list[tuple[Segment, list[Segment]]] = []
    for s in msg.segments[1:]:
        if s.name == "MFE":
            out.append((s, []))
        elif out:
            out[-1][1].append(s)
    return out


def map_master(msg: Message, codes: CodeMap, kinds: dict[str, str]) -> dict[str, list[Row]]:
    """The directory records of one MFN message, by table name.

    ``kinds`` maps department ids to their kind, from this and earlier messages (a
    user's role may follow from the department's kind); it is updated here.
    """
    mfi = msg.first("MFI")
    file_id = (mfi.get(1) if mfi else "").upper()
    out: dict[str, list[Row]] = {t.name: [] for t in TABLES}
    if file_id == "LOC":
        for _, segs in _records(msg):
            _location(segs, codes, kinds, out)
    elif file_id in ("STF", "PRA"):
        for mfe, segs in _records(msg):
            _staff(mfe, segs, codes, kinds, out)
    else:
        raise Hl7Error(
            f"master file {file_id[:10] or '(none in MFI-1)'} is not read here; phiwarden "
            "reads MFN^M05 (LOC) and MFN^M02 (STF)",
            ack_code="AR",
            error_code="200",
        )
    return out


def _first(segs: list[Segment], name: str) -> Segment | None:
    return next((s for s in segs if s.name == name), None)


def _location(
    segs: list[Segment], codes: CodeMap, kinds: dict[str, str], out: dict[str, list[Row]]
) -> None:
    loc = _first(segs, "LOC")
    if loc is None:
        raise Hl7Error("a location record (MFE) has no LOC segment", error_code="100")
    point, facility, name = loc.get(1, 1), loc.get(1, 4), _none(loc.get(2))
    if not point:
        if not facility:
            raise Hl7Error("LOC-1 names neither a point of care nor a facility", error_code="101")
        _, city, state, _ = _address(loc, loc.reps(5)[0]) if loc.reps(5) else ("", "", "", "")
        out[c.FACILITIES.name].append(
            {
                "facility_id": facility,
                "name": name or facility,
                "city": _none(city),
                "state": _none(state),
            }
        )
        return
    ldp = _first(segs, "LDP")
    concepts = [x for x in (_concept(ldp, 2), _concept(ldp, 3)) if x]
    kind = codes.lookup("department_kind", concepts, names=[name, loc.get(2)])
    kind = kind or codes.fallback("department_kind", "clinical")
    kinds[point] = kind
    out[c.DEPARTMENTS.name].append(
        {
            "department_id": point,
            "name": name or point,
            "kind": kind,
            "facility_id": _none(facility),
        }
    )


def _login(stf: Segment) -> str | None:
    for rep in stf.reps(2):
        if stf.comp(rep, 5).upper() in LOGIN_TYPES and stf.comp(rep, 1):
            return stf.comp(rep, 1)
    return None


def _staff(
    mfe: Segment,
    segs: list[Segment],
    codes: CodeMap,
    kinds: dict[str, str],
    out: dict[str, list[Row]],
) -> None:
    stf, pra, org = _first(segs, "STF"), _first(segs, "PRA"), _first(segs, "ORG")
    if stf is None:
        raise Hl7Error("a staff record (MFE) has no STF segment", error_code="100")
    user_id = stf.get(1) or mfe.get(4)
    if not user_id:
        raise Hl7Error("STF-1 (primary key) is empty: a staff record needs its user id")
    department = _none(stf.get(8)) or (_none(org.get(2)) if org else None)
    concepts = [
        x
        for x in (
            _concept(stf, 4),
            _concept(pra, 3),
            _concept(pra, 5),
            _concept(stf, 19),
            _concept(org, 6) if org else None,
        )
        if x
    ]
    role = codes.lookup("role", concepts, names=[stf.get(18)])
    role = role or codes.role_of_department(kinds.get(department or ""))
    role = role or codes.fallback("role", "other")
    left = hl7_date(stf.get(13), "STF-13 (institution inactivation date)")
    if left is None and mfe.get(1).upper() == "MDC":
        left = hl7_date(mfe.get(3), "MFE-3 (effective date/time)")
    line, city, state, zip_code = (
        _address(stf, stf.reps(11)[0]) if stf.reps(11) else ("", "", "", "")
    )
    phones = stf.reps(10)
    out[c.WORKFORCE.name].append(
        {
            "user_id": user_id,
            "login": _login(stf),
            "first_name": _none(stf.get(3, 2)),
            "last_name": stf.get(3, 1) or None,
            "role": role,
            "department_id": department,
            "hire_date": hl7_date(stf.get(12), "STF-12 (institution activation date)"),
            "termination_date": left,
            "address_line": _none(line),
            "city": _none(city),
            "state": _none(state),
            "zip": _none(zip_code),
            "phone": _none(phone_text(stf, phones[0])) if phones else None,
            "manager_id": None,
            "shift_start_hour": None,
            "shift_end_hour": None,
        }
    )
