"""Read HL7 v2 ADT files: one or many messages per file, plain or MLLP-framed.

A file is taken as HL7 v2 when its name ends in ``.hl7`` (``.hl7v2``, ``.er7``) or its
content starts with ``MSH`` (or a batch header ``FHS``/``BHS``, or an MLLP start block).
A folder is read file by file in name order (``adt_20260105.hl7`` before
``adt_20260106.hl7``), so patients registered on one day are known the next.

Segments may end in CR, LF or CRLF. Messages are loaded in batches through the shared
loader (see ``hl7_batch``); a message that cannot be read is quarantined with the file,
its number in the file and its byte offset, and the reason. Re-reading a file adds
nothing: every record has a deterministic key. ``hl7_adt`` says what each trigger event
yields. The mapping (HL7 v2.5.1; "RI" is identifier type RI, a record id):

============================  ==========================================================
HL7 field                     canonical column
============================  ==========================================================
MSH-9, MSH-10                 trigger event; control id (echoed in the ACK's MSA-2)
EVN-6, else EVN-2, else MSH-7 registered_at, merged_at, encounter start if PV1-44 empty
EVN-5.1, EVN-7.1              registered_by_user_id / merged_by_user_id; facility_id
PID-3 type MR (else untyped)  patients.mrn, registrations.mrn
PID-3 type PI, else PID-2     patients.patient_id (else the MRN)
PID-5 (L or untyped rep)      last_name (.1), first_name (.2), middle_name (.3)
PID-5 reps typed M, B, NOUSE  previous_names ("Last, First;...")
PID-7, PID-8, PID-29          dob, sex, deceased_date
PID-19, else PID-3 type SS    ssn (encrypted with a keyed hash by the loader)
PID-11 reps                   patient_addresses (XAD-13 valid_from, XAD-14 valid_to);
                              the first without expiry is the patient's address
PID-13 / PID-14 reps          patient_phones: home, mobile (XTN-3 CP/BP), work (PID-14
                              or WPN); the first PID-13 phone is patients.phone;
                              NET/Internet (XTN-4) is patients.email
PV1-16                        patients.vip (any value but N)
OBX-5 of OBX-3 LOINC 882-1    patients.blood_type
NK1-7 E with NK1-12           patients.employee_user_id (when a known workforce user)
NK1 (NK1-7 C / N)             patient_contacts emergency / next_of_kin: NK1-2 name,
                              NK1-3 relationship (table 0063), NK1-4 address, NK1-5
                              phone, NK1-33 RI contact_id
GT1                           patient_contacts guarantor: GT1-2 RI contact_id, GT1-3
                              name, GT1-5 address, GT1-6 phone, GT1-11 relationship
IN1 (with IN2)                coverages: IN1-4 (else -3, -2) payer, IN1-36 (else IN1-49)
                              member_id, IN1-49 RI coverage_id, IN1-16 subscriber name,
                              IN1-17 insured's relationship (subscriber_relationship is
                              the patient's, inverted), IN1-18 subscriber_dob
IN1-19, IN2-63                patient_contacts subscriber (address, phone) when the
                              insured is another person
PV1-19                        encounters.encounter_id, registrations.encounter_id
PV1-2, PV1-18                 encounters.type: I inpatient, E emergency, O outpatient,
                              PV1-18 TELEHEALTH telehealth
PV1-3.1, PV1-3.4              encounters.department_id, facility_id
PV1-7.1, PV1-44, PV1-45       attending_user_id, start, end
PV1-50                        registrations.registration_id (else "<visit>-RG")
PID, first IN1 of A01/A04     registrations.presented_* (name, dob, sex, ssn, address,
                              phone, payer, member id); PID-20 drivers_license, PID-3
                              PPN passport / SID state_id as id_type and id_number
MRG-1 (MR, PI), MRG-4         patient_merges.merged_mrn, merged_patient_id; the PID above
                              is the surviving patient
A08/A31 PID on a stored       the changed demographics replace the stored ones; the
patient                       previous values go to patient_history (``hl7_update``)
A24 / A37 two PIDs            patient_links linked_at / unlinked_at (EVN-5 the user)
============================  ==========================================================

Keys without a record id in the message are derived from the patient id and a digest of
the record (address, phone, contact, coverage, merge). ADT does not carry facilities,
departments and workforce (load them first: references to them are checked), clinical,
billing, eligibility, fraud-watch and access records, ``patients.watch_list``, or
``registrations.id_checked`` / ``photo_on_file``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from phiwarden.ingest.canonical import file_digest
from phiwarden.ingest.hl7_batch import AdtBatchLoader, Inbound
from phiwarden.ingest.hl7_er7 import split_messages
from phiwarden.ingest.loader import Loader

Progress = Callable[[str, int, int], None]

SUFFIXES = (".hl7", ".hl7v2", ".er7")
#: Messages per batch: one loader transaction per table per batch.
BATCH_MESSAGES = int(os.environ.get("PHIWARDEN_HL7_BATCH_MESSAGES", "2000"))
_HEADS = (b"MSH", b"FHS", b"BHS")


def _looks_like_hl7(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf\x0b\r\n\t ")
    return text[:3] in _HEADS and len(text) > 3 and not chr(text[3]).isalnum()


def hl7_files(folder: Path) -> list[Path]:
    """The HL7 files directly in a folder, in name order."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
    )


def sniff(path: Path) -> bool:
    """True for a ``.hl7`` file, a file starting with an HL7 header, or a folder of them."""
    if path.is_dir():
        return bool(hl7_files(path))
    if path.suffix.lower() in SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            return _looks_like_hl7(fh.read(512))
    except OSError:
        return False


def load_file(loader: Loader, path: Path, progress: Progress | None = None) -> int:
    """Load every message of one file; returns how many messages it held."""
    batches = AdtBatchLoader(loader, source=str(path))
    digest = file_digest(path)[:20]
    pending: list[Inbound] = []
    count = number = 0

    def flush() -> None:
        nonlocal number
        batches.load(pending, batch_key=f"{digest}-{number:05d}")
        number += 1
        if progress:
            progress("hl7v2 messages", len(pending), 0)
        pending.clear()

    with path.open("rb") as fh:
        for raw in split_messages(fh):
            pending.append(Inbound(raw.data, raw.location))
            count += 1
            if len(pending) >= BATCH_MESSAGES:
                flush()
    if pending:
        flush()
    return count


def load(loader: Loader, path: Path, progress: Progress | None = None) -> None:
    """Load an HL7 v2 file, or every HL7 file of a folder in name order."""
    files = hl7_files(path) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(
            f"{path}: no HL7 files here (expected names ending in {', '.join(SUFFIXES)})"
        )
    for file in files:
        load_file(loader, file, progress)
