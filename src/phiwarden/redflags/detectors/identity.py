"""FTC-14 one SSN on different people, FTC-15 address or phone shared by many, FTC-17
what was presented disagrees with the record the registration was filed to."""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz.distance import JaroWinkler

from phiwarden.identity.addresses import address_key
from phiwarden.identity.names import clean_name, formal_first
from phiwarden.identity.phones import e164
from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding

#: Names this similar (Jaro-Winkler) are a typing slip, not a different name.
TYPO = 0.85
#: More distinct patients than this on one address or phone is "unusually many".
SHARED_LIMIT = 6


def shared_ssn(data: ScanData) -> list[Finding]:
    """A registration presents an SSN already on another patient who disagrees on name and
    date of birth, and that patient was known first (earliest account or registration):
    the later person is the one flagged."""
    rows = data.rows(
        """
        SELECT r.registration_id, r.patient_id, r.mrn, r.registered_at,
               o.mrn AS other_mrn, o.dob AS other_dob
        FROM registrations r
        JOIN patients o ON o.ssn_hash = r.presented_ssn_hash AND o.patient_id <> r.patient_id
        LEFT JOIN first_seen mine ON mine.patient_id = r.patient_id
        LEFT JOIN first_seen theirs ON theirs.patient_id = o.patient_id
        WHERE o.dob IS DISTINCT FROM r.presented_dob
          AND jaro_winkler_similarity(upper(trim(coalesce(o.last_name, ''))),
                                      upper(trim(coalesce(r.presented_last_name, '')))) < 0.85
          AND (theirs.seen_at IS NULL OR theirs.seen_at < mine.seen_at)
        """
    )
    return [
        Finding.of(
            "FTC-14",
            "shared_ssn",
            (
                f"the SSN is on file for MRN {r['other_mrn']}, a different person "
                f"(name and date of birth differ)",
            ),
            row=r,
        )
        for r in rows
    ]


def shared_contact(data: ScanData, limit: int = SHARED_LIMIT) -> list[Finding]:
    """A registration's address or phone is shared by more than ``limit`` patients."""
    people: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in data.rows("SELECT patient_id, address_line, zip, phone FROM patients"):
        if p["address_line"]:
            people[("address", f"{address_key(p['address_line'])}|{p['zip'] or ''}")].add(
                p["patient_id"]
            )
        if p["phone"] and (phone := e164(p["phone"])):
            people[("phone", phone)].add(p["patient_id"])
    crowded = {k: len(v) for k, v in people.items() if len(v) > limit}
    if not crowded:
        return []
    out: list[Finding] = []
    for r in data.rows(
        "SELECT registration_id, patient_id, mrn, registered_at, presented_address_line, "
        "presented_zip, presented_phone FROM registrations"
    ):
        keys = []
        if r["presented_address_line"]:
            keys.append(
                (
                    "address",
                    f"{address_key(r['presented_address_line'])}|{r['presented_zip'] or ''}",
                )
            )
        if r["presented_phone"] and (phone := e164(r["presented_phone"])):
            keys.append(("phone", phone))
        for key in keys:
            if key in crowded:
                out.append(
                    Finding.of(
                        "FTC-15",
                        f"shared_{key[0]}",
                        (f"the {key[0]} is on file for {crowded[key]} different patients",),
                        row=r,
                    )
                )
    return out


def inconsistent_with_file(data: ScanData) -> list[Finding]:
    """The presented date of birth, sex or name disagrees with the patient record.

    The record is taken as it was when the registration was made: a value an update
    (HL7 A08/A31) changed later is compared in its earlier form, from patient_history.
    """
    rows = data.rows(
        """
        WITH was AS (
          SELECT r.registration_id,
                 arg_min(h.previous_value, h.changed_at) FILTER (WHERE h.field = 'dob') AS dob,
                 arg_min(h.previous_value, h.changed_at) FILTER (WHERE h.field = 'sex') AS sex,
                 arg_min(h.previous_value, h.changed_at)
                   FILTER (WHERE h.field = 'first_name') AS first_name,
                 arg_min(h.previous_value, h.changed_at)
                   FILTER (WHERE h.field = 'last_name') AS last_name
          FROM registrations r JOIN patient_history h
            ON h.patient_id = r.patient_id AND h.changed_at > r.registered_at
          GROUP BY r.registration_id
        ), on_file AS (
          SELECT r.registration_id, r.patient_id, r.mrn, r.registered_at,
                 r.presented_first_name, r.presented_last_name, r.presented_dob,
                 r.presented_sex,
                 coalesce(a.first_name, p.first_name) AS first_name,
                 coalesce(a.last_name, p.last_name) AS last_name,
                 concat_ws(';', p.last_name || ', ' || p.first_name, p.previous_names)
                   AS previous_names,
                 coalesce(TRY_CAST(a.dob AS DATE), p.dob) AS dob,
                 coalesce(a.sex, p.sex) AS sex
          FROM registrations r JOIN patients p USING (patient_id)
          LEFT JOIN was a USING (registration_id)
        )
        SELECT * FROM on_file
        WHERE presented_dob IS DISTINCT FROM dob
           OR presented_sex IS DISTINCT FROM sex
           OR upper(presented_last_name) IS DISTINCT FROM upper(last_name)
           OR upper(presented_first_name) IS DISTINCT FROM upper(first_name)
        """
    )
    out: list[Finding] = []
    for r in rows:
        evidence: list[str] = []
        if r["presented_dob"] and r["dob"] and r["presented_dob"] != r["dob"]:
            evidence.append(f"date of birth presented {r['presented_dob']}, on file {r['dob']}")
        if r["presented_sex"] and r["sex"] and r["presented_sex"] != r["sex"]:
            evidence.append(f"sex presented {r['presented_sex']}, on file {r['sex']}")
        last = clean_name(r["presented_last_name"] or "")
        known = {clean_name(r["last_name"] or "")} | {
            clean_name(n.split(",")[0]) for n in (r["previous_names"] or "").split(";") if n
        }
        if last and all(JaroWinkler.similarity(last, k or "") < TYPO for k in known):
            evidence.append("last name presented is not the name on file nor a previous name")
        first = clean_name(r["presented_first_name"] or "")
        on_file = clean_name(r["first_name"] or "")
        if (
            first
            and on_file
            and formal_first(first) != formal_first(on_file)
            and JaroWinkler.similarity(first, on_file) < TYPO
            and not (first.startswith(on_file) or on_file.startswith(first))
        ):
            evidence.append("first name presented is not the name on file")
        if evidence:
            out.append(
                Finding.of(
                    "FTC-17",
                    "inconsistent_with_file",
                    tuple(evidence),
                    row=r,
                )
            )
    return out
