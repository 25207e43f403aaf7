"""Read FHIR R4: bulk-data NDJSON (one type per file, or mixed) and Bundles in ``.json``.

Resources read: Organization, Location, Practitioner, PractitionerRole, Patient,
RelatedPerson, Coverage, Communication, Appointment, Encounter, MedicationRequest,
ServiceRequest, Observation and AuditEvent. They become the canonical facilities,
departments, workforce, patients, patient_contacts, coverages, calls, appointments,
encounters, care_team, prescriptions, orders, lab_results and access_events; the
mapping of each type is described in ``fhir_admin``, ``fhir_person``, ``fhir_clinical``
and ``fhir_audit``, how the files are read in ``fhir_run``.

What FHIR does not carry here: who booked an appointment, registrations, billing,
complaints, eligibility, fraud watch and merges (the export has no such resources), and
the patient address and phone history (folded into Patient without ids or dates).

Bad input never stops the ingest: a malformed line, an unknown resource type, a resource
that is not valid FHIR R4B and a resource lacking what its canonical record needs are
quarantined with the file, line (or Bundle entry) and reason, and the rest loads.
"""

from __future__ import annotations

import re
from pathlib import Path

from phiwarden.ingest.fhir_ndjson import first_resource_type
from phiwarden.ingest.fhir_run import FhirRun
from phiwarden.ingest.fhir_sink import Progress
from phiwarden.ingest.loader import Loader

__all__ = ["files_in", "load", "sniff"]

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
JSON_SUFFIX = ".json"
_HEAD_BYTES = 64 * 1024
_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"[A-Za-z]+"')


def _json_is_fhir(path: Path) -> bool:
    """True when a ``.json`` file names a resourceType near its start (a Bundle, say)."""
    with path.open("rb") as fh:
        return _RESOURCE_TYPE.search(fh.read(_HEAD_BYTES)) is not None


def _is_fhir_file(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in NDJSON_SUFFIXES:
        return first_resource_type(path) is not None
    return suffix == JSON_SUFFIX and _json_is_fhir(path)


def files_in(folder: Path) -> list[Path]:
    """The FHIR files of a folder (not its sub-folders), in name order.

    ``.json`` files that are not FHIR (a bulk-data export's manifest) are left out.
    """
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in (*NDJSON_SUFFIXES, JSON_SUFFIX)
        and (p.suffix.lower() in NDJSON_SUFFIXES or _json_is_fhir(p))
    )


def sniff(path: Path) -> bool:
    """True for a folder of FHIR NDJSON files, or an NDJSON/JSON file of FHIR resources."""
    if path.is_dir():
        return any(
            p.is_file() and p.suffix.lower() in NDJSON_SUFFIXES and _is_fhir_file(p)
            for p in sorted(path.iterdir())
        )
    return path.is_file() and _is_fhir_file(path)


def load(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Load a folder (read as a whole) or a single NDJSON or Bundle file."""
    files = files_in(path) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(
            f"{path}: no FHIR files here (expected bulk-data *.ndjson files or .json Bundles)"
        )
    run = FhirRun(loader, progress)
    run.index(files)
    run.load()
