"""The ``standard`` dialect: the same hospital as a FHIR export phiwarden did not write.

``synth --dialect standard`` rewrites the FHIR NDJSON folder so that it carries only what
an ordinary FHIR R4 export carries, with a hospital's own conventions, and none of
phiwarden's private code systems or extensions:

- departments: Organizations of organization-type ``dept`` with ``partOf``, renamed the
  way this hospital names them ("ED - Main Campus", "Patient Access Services"...);
  Locations typed with v3 ServiceDeliveryLocationRoleType where one fits;
- roles: the hospital's own job-code CodeSystem (codes like ``RN2``, displays like "Staff
  Nurse II"), plus the standard practitioner-role code where one exists; a share of job
  codes has no display at all (the reader then uses the department);
- logins and employee numbers as the hospital's identifiers (type ``EI``), shared by the
  Patient record of an employee instead of phiwarden's employee extension;
- restricted records by ``meta.security`` R only; no watch-list tags;
- contacts coded in v2-0131, v3 RoleClass and v3 RoleCode only;
- no DEA-schedule extension (the reader must know its controlled substances), no
  blood-type extension (ABO/Rh Observations carry it, LOINC 882-1); order codes in the
  hospital's own order-code CodeSystem;
- AuditEvents without phiwarden's action subtype;
- optional data missing at random: shift hours for a third of the workforce, home
  addresses for a tenth of it, phones for a twentieth of patients.

Ids are kept, so ``ground_truth.json`` still names the same people. The rewrite streams
each file line by line.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phiwarden.formats import fhir_codes as fc

JSON = dict[str, Any]
HOSPITAL = "https://ehr.riverbend.example.org/fhir"
JOB_CODES = f"{HOSPITAL}/CodeSystem/job-code"
ORDER_CODES = f"{HOSPITAL}/CodeSystem/order-code"
MRN_SYSTEM = f"{HOSPITAL}/sid/mrn"
LOGIN_SYSTEM = f"{HOSPITAL}/sid/username"
EMPLOYEE_SYSTEM = f"{HOSPITAL}/sid/employee-number"

#: canonical role -> (local job code, display or None, standard practitioner-role code)
JOBS: dict[str, tuple[str, str | None, str | None]] = {
    "physician": ("MDATT", "Attending Physician", "doctor"),
    "nurse": ("RN2", "Staff Nurse II", "nurse"),
    "registrar": ("PAR1", "Patient Access Rep I", None),
    "biller": ("PFS3", None, None),  # no display: the department tells
    "coder": ("HIMC2", "Coding Specialist II", None),
    "call_center_agent": ("CCA", "Contact Center Agent", None),
    "lab_tech": ("MT", "Medical Technologist", None),
    "radiology_tech": ("RT", "Radiologic Technologist", None),
    "pharmacist": ("RPH", "Clinical Pharmacist", "pharmacist"),
    "him_analyst": ("HIMS", "HIM Specialist", None),
    "it_analyst": ("ISAA", "Application Analyst", "ict"),
    "administrator": ("DIR", "Director", None),
}
#: department kind -> how this hospital names it (clinical departments keep their names)
DEPARTMENT_NAMES: dict[str, str] = {
    "emergency": "ED - {site}",
    "registration": "Patient Access Services - {site}",
    "lab": "Core Laboratory - {site}",
    "radiology": "Diagnostic Imaging - {site}",
    "pharmacy": "Inpatient Pharmacy - {site}",
    "billing": "Revenue Cycle / PFS",
    "coding": "HIM Coding",
    "call_center": "Patient Contact Center",
    "him": "Health Information Management",
    "it": "Information Services",
    "admin": "Executive Administration",
}
#: department kind -> v3 ServiceDeliveryLocationRoleType of its Location
LOCATION_TYPES: dict[str, tuple[str, str]] = {
    "emergency": ("ER", "Emergency room"),
    "lab": ("HLAB", "hospital laboratory"),
    "radiology": ("RADDX", "radiology diagnostics or therapeutics unit"),
    "pharmacy": ("PHARM", "Pharmacy"),
}


def _private(system: object) -> bool:
    return isinstance(system, str) and system.startswith("urn:phiwarden:")


def _strip_codings(concept: Any) -> Any:
    """A concept without phiwarden codings (None when nothing standard is left)."""
    if not isinstance(concept, dict):
        return concept
    kept = [c for c in concept.get("coding", []) if not _private(c.get("system"))]
    out = {k: v for k, v in concept.items() if k != "coding"}
    if kept:
        out["coding"] = kept
    return out if out else None


def _no_extensions(res: JSON) -> None:
    ext = [e for e in res.get("extension", []) if not str(e.get("url", "")).startswith(fc.EXT_BASE)]
    if ext:
        res["extension"] = ext
    else:
        res.pop("extension", None)


class StandardDialect:
    """Rewrites one hospital's FHIR folder; remembers what later resource types need."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.dept_kind: dict[str, str] = {}
        self.dept_name: dict[str, str] = {}
        self.employee: dict[str, str] = {}  # user id -> employee number

    # -- directory ----------------------------------------------------------------------
    def organization(self, res: JSON) -> JSON:
        kinds = [
            c.get("code")
            for t in res.get("type", [])
            for c in t.get("coding", [])
            if c.get("system") == fc.DEPARTMENT_KIND_SYSTEM
        ]
        res["type"] = [t for t in map(_strip_codings, res.get("type", [])) if t]
        if kinds:
            kind = str(kinds[0])
            self.dept_kind[res["id"]] = kind
            name = str(res.get("name", ""))
            site = name.split(" - ", 1)[1] if " - " in name else "Main Campus"
            pattern = DEPARTMENT_NAMES.get(kind)
            if pattern is not None:
                res["name"] = pattern.format(site=site)
                res["alias"] = [name]
            self.dept_name[res["id"]] = str(res["name"])
        return res

    def location(self, res: JSON) -> JSON:
        kind = self.dept_kind.get(res.get("id", ""))
        if kind is not None:
            res["name"] = self.dept_name.get(res["id"], res.get("name"))
            found = LOCATION_TYPES.get(kind)
            if found is not None:
                res["type"] = [
                    {"coding": [{"system": fc.V3_ROLE_CODE, "code": found[0], "display": found[1]}]}
                ]
        return res

    def practitioner(self, res: JSON) -> JSON:
        uid = res["id"]
        login = next(
            (i["value"] for i in res.get("identifier", []) if i.get("system") == fc.LOGIN_SYSTEM),
            uid,
        )
        number = f"E{self.rng.randrange(100000, 999999)}"
        self.employee[uid] = number
        res["identifier"] = [
            {"system": LOGIN_SYSTEM, "value": login},
            {
                "type": {
                    "coding": [{"system": fc.V2_0203, "code": "EI", "display": "Employee number"}]
                },
                "system": EMPLOYEE_SYSTEM,
                "value": number,
            },
        ]
        if self.rng.random() < 0.1:
            res.pop("address", None)
        return res

    def practitioner_role(self, res: JSON) -> JSON:
        role = next(
            (
                c.get("code")
                for t in res.get("code", [])
                for c in t.get("coding", [])
                if c.get("system") == fc.ROLE_SYSTEM
            ),
            None,
        )
        code, display, standard = JOBS.get(str(role), ("OTH", None, None))
        coding: list[JSON] = [{"system": JOB_CODES, "code": code}]
        if display:
            coding[0]["display"] = display
        concepts: list[JSON] = [{"coding": coding}]
        if standard and self.rng.random() < 0.7:
            concepts.append({"coding": [{"system": fc.PRACTITIONER_ROLE, "code": standard}]})
        res["code"] = concepts
        _no_extensions(res)
        if self.rng.random() < 0.33:
            res.pop("availableTime", None)
        return res

    # -- people -------------------------------------------------------------------------
    def patient(self, res: JSON) -> JSON:
        for ident in res.get("identifier", []):
            if ident.get("system") == fc.MRN_SYSTEM:
                ident["system"] = MRN_SYSTEM
        employee = next(
            (
                e.get("valueReference", {}).get("reference", "").rsplit("/", 1)[-1]
                for e in res.get("extension", [])
                if e.get("url") == fc.EXT_EMPLOYEE
            ),
            None,
        )
        if employee and employee in self.employee:
            res.setdefault("identifier", []).append(
                {
                    "type": {"coding": [{"system": fc.V2_0203, "code": "EI"}]},
                    "system": EMPLOYEE_SYSTEM,
                    "value": self.employee[employee],
                }
            )
        _no_extensions(res)
        meta = res.get("meta", {})
        vip = any(
            t.get("code") == "vip" for t in meta.get("tag", []) if _private(t.get("system"))
        ) or any(s.get("code") in ("R", "V") for s in meta.get("security", []))
        res.pop("meta", None)
        if vip:
            res["meta"] = {
                "security": [
                    {"system": fc.V3_CONFIDENTIALITY, "code": "R", "display": "restricted"}
                ]
            }
        for contact in res.get("contact", []):
            self._relationships(contact)
        if self.rng.random() < 0.05:
            res["telecom"] = [t for t in res.get("telecom", []) if t.get("system") != "phone"]
        return res

    def related_person(self, res: JSON) -> JSON:
        self._relationships(res)
        return res

    @staticmethod
    def _relationships(node: JSON) -> None:
        kept = [c for c in map(_strip_codings, node.get("relationship", [])) if c]
        if kept:
            node["relationship"] = kept
        else:
            node.pop("relationship", None)

    # -- clinical -----------------------------------------------------------------------
    def encounter(self, res: JSON) -> JSON:
        types = [t for t in map(_strip_codings, res.get("type", [])) if t]
        if types:
            res["type"] = types
        else:
            res.pop("type", None)
        for part in res.get("participant", []):
            part["type"] = [t for t in map(_strip_codings, part.get("type", [])) if t]
        return res

    def medication_request(self, res: JSON) -> JSON:
        _no_extensions(res)
        return res

    def service_request(self, res: JSON) -> JSON:
        for coding in res.get("code", {}).get("coding", []):
            if coding.get("system") == fc.ORDER_CODE_SYSTEM:
                coding["system"] = ORDER_CODES
        return res

    def observation(self, res: JSON) -> JSON:
        res["basedOn"] = [
            b for b in res.get("basedOn", []) if not _private(b.get("identifier", {}).get("system"))
        ]
        if not res["basedOn"]:
            res.pop("basedOn")
        return res

    def audit_event(self, res: JSON) -> JSON:
        res["subtype"] = [s for s in res.get("subtype", []) if not _private(s.get("system"))]
        if not res["subtype"]:
            res.pop("subtype")
        for agent in res.get("agent", []):
            who = agent.get("who", {})
            if _private(who.get("identifier", {}).get("system")):
                who.pop("identifier")
        return res

    def rewriters(self) -> dict[str, Callable[[JSON], JSON]]:
        """Resource type -> its rewrite, in the order the files must be read."""
        return {
            "Organization": self.organization,
            "Location": self.location,
            "Practitioner": self.practitioner,
            "PractitionerRole": self.practitioner_role,
            "Patient": self.patient,
            "RelatedPerson": self.related_person,
            "Encounter": self.encounter,
            "MedicationRequest": self.medication_request,
            "ServiceRequest": self.service_request,
            "Observation": self.observation,
            "AuditEvent": self.audit_event,
        }


def rewrite_standard(fhir_dir: Path, seed: int) -> dict[str, int]:
    """Rewrite ``<Type>.ndjson`` files of ``fhir_dir`` in place; return resources per type."""
    dialect = StandardDialect(seed)
    counts: dict[str, int] = {}
    for kind, rewrite in dialect.rewriters().items():
        path = fhir_dir / f"{kind}.ndjson"
        if not path.is_file():
            continue
        tmp = path.with_suffix(".ndjson.tmp")
        n = 0
        with path.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as out:
            for line in src:
                if line.strip():
                    out.write(json.dumps(rewrite(json.loads(line)), separators=(",", ":")))
                    out.write("\n")
                    n += 1
        tmp.replace(path)
        counts[kind] = n
    return counts
