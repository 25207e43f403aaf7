"""FHIR R4 ingest: the synthetic hospital loads as it does from canonical files, Bundles
and mixed NDJSON load, break-the-glass is found, bad input ends in quarantine."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from phiwarden.config import load_settings
from phiwarden.ingest import fhir, formats
from phiwarden.ingest.fhir_audit import FAST_SQL, GENERIC_SQL, AuditExtractor
from phiwarden.ingest.fhir_ndjson import scan, to_lines
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.layout import list_files
from phiwarden.lake.reader import lake_stats
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores, initialise

#: Tables the FHIR export carries (the others have no FHIR resource in it).
CARRIED = (
    "facilities",
    "departments",
    "workforce",
    "patients",
    "patient_contacts",
    "coverages",
    "encounters",
    "care_team",
    "prescriptions",
    "lab_results",
    "calls",
    "orders",
    "appointments",
)
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
JSON = dict[str, Any]


def _ingest(stores: Stores, *paths: Path, fmt: str = "auto") -> dict[str, Any]:
    report = run_ingest(
        list(paths),
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        fmt=fmt,
    )
    return report.to_json()


def _events(stores: Stores) -> list[JSON]:
    files = list_files(stores.settings.lake_dir)  # the events, not the daily openings
    if not files:
        return []
    rows: list[JSON] = pa.concat_tables([pq.read_table(f) for f in files]).to_pylist()
    return sorted(rows, key=lambda r: r["event_id"])


def _quarantine(stores: Stores) -> dict[tuple[str, str], str]:
    with stores.engine.connect() as conn:
        return {
            (Path(r["source"]).name, r["location"]): r["reason"] for r in repo.list_quarantine(conn)
        }


def _write_ndjson(path: Path, resources: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in resources]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- a small hand-made hospital --------------------------------------------------------


def _facility() -> JSON:
    return {
        "resourceType": "Organization",
        "id": "F1",
        "name": "General",
        "type": [{"coding": [{"code": "prov"}]}],
        "address": [{"city": "Springfield", "state": "IL"}],
    }


def _department() -> JSON:
    return {
        "resourceType": "Organization",
        "id": "D1",
        "name": "Cardiology",
        "type": [{"coding": [{"system": "urn:phiwarden:department-kind", "code": "clinical"}]}],
        "partOf": {"reference": "Organization/F1"},
    }


def _practitioner(uid: str = "U1", login: str = "jdoe") -> JSON:
    return {
        "resourceType": "Practitioner",
        "id": uid,
        "identifier": [{"system": "urn:phiwarden:login", "value": login}],
        "name": [{"family": "Doe", "given": ["Jane"]}],
    }


def _role(uid: str = "U1", rid: str | None = None) -> JSON:
    return {
        "resourceType": "PractitionerRole",
        "id": rid or uid,
        "practitioner": {"reference": f"Practitioner/{uid}"},
        "code": [{"coding": [{"system": "urn:phiwarden:role", "code": "nurse"}]}],
        "organization": {"reference": "Organization/D1"},
    }


def _patient(pid: str = "P1", mrn: str | None = "M1") -> JSON:
    res: JSON = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Lee", "given": ["Ann"]}],
        "birthDate": "1980-02-03",
        "gender": "female",
    }
    if mrn:
        res["identifier"] = [{"system": "urn:phiwarden:mrn", "value": mrn}]
    return res


def _encounter(eid: str = "E1", pid: str = "P1") -> JSON:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"},
        "participant": [
            {
                "type": [{"coding": [{"code": "ATND"}]}],
                "individual": {"reference": "Practitioner/U1"},
            }
        ],
        "period": {"start": "2026-01-05T09:00:00Z"},
        "location": [{"location": {"reference": "Location/D1"}}],
    }


def _audit(
    eid: str, *, user: str = "Practitioner/U1", patient: str = "Patient/P1", **extra: Any
) -> JSON:
    res: JSON = {
        "resourceType": "AuditEvent",
        "id": eid,
        "action": "R",
        "outcome": "0",
        "recorded": "2026-01-05T10:00:00Z",
        "agent": [{"who": {"reference": user}, "requestor": True}],
        "source": {"observer": {"display": "EHR"}},
        "entity": [{"what": {"reference": patient}}],
    }
    res.update(extra)
    return res


def _base() -> list[JSON]:
    return [_facility(), _department(), _practitioner(), _role(), _patient()]


# -- the synthetic hospital ------------------------------------------------------------


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small hospital written as canonical files and as FHIR NDJSON."""
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    out = tmp_path_factory.mktemp("fhir-hospital")
    generate(
        out, SynthSpec(patients=300, workforce=50, days=7, seed=11, formats=("canonical", "fhir"))
    )
    return out


@pytest.fixture(scope="module")
def canonical_loaded(hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> JSON:
    """Counts and keys of the canonical load of the same hospital (SQLite)."""
    root = tmp_path_factory.mktemp("canonical-store")
    stores, _ = initialise(load_settings(root, f"sqlite:///{root / 'store.db'}"))
    report = _ingest(stores, hospital / "canonical")
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
        patients = repo.existing_keys(conn, repo.domain_table("patients"))
    events = {r["event_id"]: r for r in _events(stores)}
    return {
        "report": report,
        "counts": counts,
        "patients": patients,
        "events": events,
        "rows": _rows(stores),
        "lake_rows": lake_stats(stores.settings.lake_dir)["rows"],
    }


def _rows(stores: Stores) -> dict[str, dict[str, JSON]]:
    """Every row of the carried tables by key, without the per-store SSN cipher columns."""
    out: dict[str, dict[str, JSON]] = {}
    with stores.engine.connect() as conn:
        for name in CARRIED:
            table = repo.domain_table(name)
            key = next(iter(table.primary_key.columns)).name
            out[name] = {
                row[key]: {k: v for k, v in row.items() if not k.endswith(("_encrypted", "_hash"))}
                for row in conn.execute(table.select()).mappings()
            }
    return out


def test_fhir_hospital_loads_like_its_canonical_files(
    stores: Stores, hospital: Path, canonical_loaded: JSON
) -> None:
    report = _ingest(stores, hospital / "fhir")
    assert report["quarantined"] == 0
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
        patients = repo.existing_keys(conn, repo.domain_table("patients"))
    expected = canonical_loaded["counts"]
    assert {t: counts[t] for t in CARRIED} == {t: expected[t] for t in CARRIED}
    assert all(counts[t] > 0 for t in CARRIED)
    assert lake_stats(stores.settings.lake_dir)["rows"] == canonical_loaded["lake_rows"] > 5000
    assert patients == canonical_loaded["patients"]
    assert {r["event_id"]: r for r in _events(stores)} == canonical_loaded["events"]
    # Record by record the same, but for what the export cannot carry: the phone a call
    # came from and who booked an appointment.
    rows, expected_rows = _rows(stores), canonical_loaded["rows"]
    for name in CARRIED:
        for key, row in expected_rows[name].items():
            got = dict(rows[name][key])
            if name == "calls":  # a Communication names no caller's phone
                got["caller_phone"] = row["caller_phone"]
            if name == "appointments":  # nor an R4 Appointment who booked it
                got["scheduled_by_user_id"] = row["scheduled_by_user_id"]
            assert got == row, (name, key)


def test_columnar_paths_agree_on_every_exported_event(hospital: Path) -> None:
    """The fast fixed-path query and the generic one read the export identically."""
    path = hospital / "fhir" / "AuditEvent.ndjson"
    extractor = AuditExtractor()
    try:
        for _, data, ends in scan(path):
            lines, _ = to_lines(data, ends)
            batch = pa.table({"row_ref": np.arange(len(lines)), "line": lines})
            fast = extractor.query(FAST_SQL, batch).drop_columns(["irregular"])
            generic = extractor.query(GENERIC_SQL, batch).select(fast.column_names)
            assert fast.sort_by("row_ref").to_pylist() == generic.sort_by("row_ref").to_pylist()
    finally:
        extractor.close()


# -- Bundles, mixed files, break-the-glass ---------------------------------------------


def test_transaction_bundle_resolves_urn_uuid_references(stores: Stores, tmp_path: Path) -> None:
    fac, dept, pat = (
        "urn:uuid:" + u
        for u in (
            "0f1a0000-0000-4000-8000-000000000001",
            "0f1a0000-0000-4000-8000-000000000002",
            "0f1a0000-0000-4000-8000-000000000003",
        )
    )
    facility = {k: v for k, v in _facility().items() if k != "id"}
    department = {
        **{k: v for k, v in _department().items() if k != "id"},
        "partOf": {"reference": fac},
    }
    patient = {k: v for k, v in _patient().items() if k != "id"}
    role = {**_role(), "organization": {"reference": dept}}
    entries = [
        (fac, facility),
        (dept, department),
        ("urn:uuid:pr-1", _practitioner()),
        ("urn:uuid:role-1", role),
        (pat, patient),
        (
            "urn:uuid:loc-1",
            {
                "resourceType": "Location",
                "name": "Ward 3",
                "managingOrganization": {"reference": dept},
            },
        ),
        (
            "urn:uuid:enc-1",
            {
                **_encounter(),
                "subject": {"reference": pat},
                "location": [{"location": {"reference": "urn:uuid:loc-1"}}],
            },
        ),
        ("urn:uuid:ae-1", _audit("A1", patient=pat)),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": url,
                "resource": res,
                "request": {"method": "POST", "url": res["resourceType"]},
            }
            for url, res in entries
        ],
    }
    path = tmp_path / "transaction.json"
    path.write_text(json.dumps(bundle, indent=2))
    assert fhir.sniff(path)
    report = _ingest(stores, path)
    assert report["quarantined"] == 0, _quarantine(stores)
    assert report["loaded"] == {
        "access_events": 1,
        "departments": 1,
        "encounters": 1,
        "facilities": 1,
        "patients": 1,
        "workforce": 1,
    }
    patient_id = pat.removeprefix("urn:uuid:")
    assert _events(stores)[0]["patient_id"] == patient_id
    with stores.engine.connect() as conn:
        assert repo.get_patient_by_mrn(conn, "M1")["patient_id"] == patient_id  # type: ignore[index]
        visit = conn.execute(repo.domain_table("encounters").select()).mappings().one()
    assert (visit["patient_id"], visit["department_id"]) == (
        patient_id,
        dept.removeprefix("urn:uuid:"),
    )


def test_searchset_bundle_loads_matches_and_includes(stores: Stores, tmp_path: Path) -> None:
    base = "https://ehr.example.org/fhir"
    entries = [
        {
            "fullUrl": f"{base}/Patient/P7",
            "resource": _patient("P7", "M7"),
            "search": {"mode": "match"},
        },
        {
            "fullUrl": f"{base}/Coverage/C7",
            "search": {"mode": "include"},
            "resource": {
                "resourceType": "Coverage",
                "id": "C7",
                "status": "active",
                "beneficiary": {"reference": f"{base}/Patient/P7"},
                "subscriber": {"reference": "Patient/P7"},
                "subscriberId": "XYZ1",
                "payor": [{"display": "Acme Health"}],
                "relationship": {"coding": [{"code": "self"}]},
            },
        },
        {
            "search": {"mode": "outcome"},
            "resource": {"resourceType": "OperationOutcome", "issue": []},
        },
    ]
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries}))
    report = _ingest(stores, path, fmt="fhir")
    assert report["loaded"] == {"coverages": 1, "patients": 1}
    assert (report["quarantined"], report["duplicates_skipped"]) == (0, 0)
    with stores.engine.connect() as conn:
        assert repo.table_counts(conn)["coverages"] == 1


@pytest.mark.parametrize("first", ["Encounter", "AuditEvent"])
def test_mixed_ndjson_loads_in_dependency_order(stores: Stores, tmp_path: Path, first: str) -> None:
    """A file with several types, referencing resources further down, loads completely."""
    later = [_encounter(), *reversed(_base())]
    head = [_audit("A1"), *later] if first == "AuditEvent" else [*later, _audit("A1")]
    path = _write_ndjson(tmp_path / "export.ndjson", head)
    report = _ingest(stores, path)
    assert report["quarantined"] == 0, _quarantine(stores)
    assert report["loaded"] == {
        "access_events": 1,
        "departments": 1,
        "encounters": 1,
        "facilities": 1,
        "patients": 1,
        "workforce": 1,
    }
    again = _ingest(stores, path)
    assert sum(again["loaded"].values()) == 0
    assert again["duplicates_skipped"] == 6


def test_break_the_glass_from_subtype_or_purpose(stores: Stores, tmp_path: Path) -> None:
    etreat = {"coding": [{"system": ACT_REASON, "code": "ETREAT"}]}
    events = [
        _audit("A1", subtype=[{"system": DCM, "code": "110127"}]),
        _audit("A2", purposeOfEvent=[etreat]),
        _audit(
            "A3",
            agent=[
                {
                    "who": {"reference": "Practitioner/U1"},
                    "requestor": True,
                    "purposeOfUse": [{**etreat, "text": "coding arrest"}],
                }
            ],
        ),
        _audit(
            "A4", action="U", subtype=[{"system": "urn:phiwarden:access-action", "code": "print"}]
        ),
        _audit(
            "A5",
            agent=[
                {"who": {"reference": "Device/ws1"}},
                {
                    "who": {"reference": "PractitionerRole/R9"},
                    "requestor": True,
                    "network": {"address": "WS-7"},
                },
            ],
            entity=[{"what": {"reference": "Location/D1"}}, {"what": {"reference": "Patient/P1"}}],
        ),
        _audit("A6", action="D", recorded="2026-01-05T10:00:00.250-05:00"),
    ]
    folder = tmp_path / "export"
    folder.mkdir()
    _write_ndjson(folder / "base.ndjson", [*_base(), _role("U1", "R9")])
    _write_ndjson(folder / "AuditEvent.ndjson", events)
    report = _ingest(stores, folder)
    assert report["quarantined"] == 0, _quarantine(stores)
    rows = {r["event_id"]: r for r in _events(stores)}
    assert {k: rows[k]["break_the_glass"] for k in rows} == {
        "A1": True,
        "A2": True,
        "A3": True,
        "A4": False,
        "A5": False,
        "A6": False,
    }
    assert rows["A3"]["btg_reason"] == "coding arrest"
    assert rows["A4"]["action"] == "print" and rows["A6"]["action"] == "delete"
    assert (rows["A5"]["user_id"], rows["A5"]["patient_id"], rows["A5"]["workstation"]) == (
        "U1",
        "P1",
        "WS-7",
    )
    assert str(rows["A6"]["ts"]) == "2026-01-05 10:00:00.250000"


# -- bad input -------------------------------------------------------------------------


def test_bad_lines_are_quarantined_with_their_line_numbers(stores: Stores, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    _write_ndjson(folder / "Organization.ndjson", [_facility(), _department()])
    _write_ndjson(folder / "Practitioner.ndjson", [_practitioner(), _role()])
    _write_ndjson(
        folder / "Patient.ndjson",
        [
            _patient("P1"),
            '{"resourceType": "Patient", "id": "P2",',
            _patient("P3", mrn=None),
            {"resourceType": "Condition", "id": "X1"},
            "",
            {**_patient("P5", "M5"), "birthDate": "1980-13-45"},
            [1, 2, 3],
            _patient("P8", "M8"),
            _encounter("E9", pid="P404"),
            {**_patient("P10", "M10"), "id": "P\ud800"},
            {"resourceType": "Pat ient", "id": "P11"},
        ],
    )
    events = [_audit(f"A{i}") for i in range(1, 6)]
    _write_ndjson(
        folder / "AuditEvent.ndjson",
        [
            *events[:2],
            '{"resourceType":"AuditEvent","id":"AX"',
            *events[2:],
            _audit("A9", user="Practitioner/U404"),
            _audit("A\udc00"),
        ],
    )
    report = _ingest(stores, folder)
    assert report["loaded"] == {
        "access_events": 6,
        "departments": 1,
        "encounters": 0,
        "facilities": 1,
        "patients": 2,
        "workforce": 1,
    }
    rejected = _quarantine(stores)
    assert report["quarantined"] == len(rejected) == 10, rejected
    assert rejected[("Patient.ndjson", "line 2")].startswith("malformed JSON")
    assert rejected[("Patient.ndjson", "line 3")] == "missing required field mrn"
    assert rejected[("Patient.ndjson", "line 4")].startswith("resourceType Condition is not read")
    assert rejected[("Patient.ndjson", "line 6")].startswith(
        "not valid FHIR R4B Patient: birthDate"
    )
    assert "1980-13-45" not in rejected[("Patient.ndjson", "line 6")]
    assert rejected[("Patient.ndjson", "line 7")].startswith("not a FHIR resource")
    assert rejected[("Patient.ndjson", "line 9")] == "unknown reference patient_id=P404"
    assert rejected[("AuditEvent.ndjson", "line 3")] == "malformed JSON"
    assert ("AuditEvent.ndjson", "line 7") not in rejected  # unknown user U404: a gap
    gaps = {(g["table"], g["column"]): g["examples"] for g in report["directory_gaps"]}
    assert gaps[("access_events", "user_id")] == ["U404"]
    assert rejected[("Patient.ndjson", "line 10")].startswith("malformed JSON")
    assert rejected[("Patient.ndjson", "line 11")] == (
        "not a FHIR resource: resourceType is not a resource type name"
    )
    assert rejected[("AuditEvent.ndjson", "line 8")] == "malformed JSON"
    again = _ingest(stores, folder)
    assert sum(again["loaded"].values()) == 0
    assert again["duplicates_skipped"] == 6 + 1 + 1 + 2 + 1


def test_sniff_and_auto_detection(hospital: Path, tmp_path: Path) -> None:
    assert fhir.sniff(hospital / "fhir")
    assert fhir.sniff(hospital / "fhir" / "Patient.ndjson")
    assert formats.detect(hospital / "fhir") == "fhir"
    assert not fhir.sniff(hospital / "canonical")
    assert not fhir.sniff(hospital / "canonical" / "patients.csv")
    assert not fhir.sniff(hospital)  # a hospital folder holds formats in sub-folders
    other = _write_ndjson(tmp_path / "log.ndjson", [{"level": "info"}])
    assert not fhir.sniff(other)


def test_scan_cuts_fixed_batches_whatever_the_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + b"{}\r\n" * 5 + b"\n" + b'{"a": "\xc3\xa9"}')
    batches = list(scan(path, batch_lines=2))
    assert [(s.number, s.first_line) for s, _, _ in batches] == [(0, 1), (1, 3), (2, 5), (3, 7)]
    texts = [to_lines(d, e)[0].to_pylist() for _, d, e in batches]
    assert texts[-1] == ['{"a": "é"}'] and texts[0] == ["{}\r\n", "{}\r\n"]
    assert texts[2] == ["{}\r\n", "\n"]


# -- fuzz ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stores, Path]]:
    """A SQLite store already holding the hand-made base records."""
    root = tmp_path_factory.mktemp("fuzz")
    stores, _ = initialise(load_settings(root, f"sqlite:///{root / 'store.db'}"))
    _ingest(stores, _write_ndjson(root / "base.ndjson", _base()))
    yield stores, root


SEEDS: list[JSON] = [
    _patient("P2", "M2"),
    _audit("A100"),
    _audit("A101", subtype=[{"system": DCM, "code": "110127"}]),
    {
        "resourceType": "Coverage",
        "id": "C1",
        "status": "active",
        "beneficiary": {"reference": "Patient/P1"},
        "subscriberId": "M-1",
        "payor": [{"display": "Acme"}],
    },
    {
        "resourceType": "MedicationRequest",
        "id": "RX1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "aspirin"},
        "subject": {"reference": "Patient/P1"},
        "authoredOn": "2026-01-05T10:00:00Z",
    },
    {
        "resourceType": "Observation",
        "id": "R1",
        "status": "final",
        "code": {"text": "ABO/Rh"},
        "subject": {"reference": "Patient/P1"},
        "effectiveDateTime": "2026-01-05T10:00:00Z",
        "valueString": "O+",
    },
    _facility(),
]

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "\u2028", "\x00", "é", "Patient/P1", "2026-01-05"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _mutate(draw: st.DrawFn, node: Any) -> None:
    """Drop a key or replace a value somewhere inside ``node`` (a dict or a list)."""
    keys: list[Any] = sorted(node) if isinstance(node, dict) else list(range(len(node)))
    if not keys:
        return
    key = draw(st.sampled_from(keys))
    child = node[key]
    if isinstance(child, dict | list) and child and draw(st.booleans()):
        _mutate(draw, child)
    elif draw(st.booleans()):
        node.pop(key)
    else:
        node[key] = draw(_json)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    resource = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        _mutate(draw, resource)
    return json.dumps(resource)


_line = st.one_of(
    _mutated(),
    _json.map(json.dumps),
    st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, min_size=1, max_size=8), first_audit=st.booleans())
def test_fuzzed_lines_end_loaded_or_quarantined(
    fuzz_store: tuple[Stores, Path], lines: list[str], first_audit: bool
) -> None:
    stores, root = fuzz_store
    if first_audit:
        lines = [json.dumps(_audit("A-first")), *lines]
    path = _write_ndjson(root / "fuzz.ndjson", lines)
    report = _ingest(stores, path, fmt="fhir")
    records = [ln for ln in lines if ln.strip()]
    skipped = sum(1 for ln in records if '"OperationOutcome"' in ln)
    outcomes = sum(report["loaded"].values()) + report["quarantined"] + report["duplicates_skipped"]
    assert outcomes + skipped == len(records)


@st.composite
def _bundle(draw: st.DrawFn) -> str:
    entries: list[Any] = []
    for i in range(draw(st.integers(0, 4))):
        resource = json.loads(draw(_mutated()))
        url = draw(st.sampled_from([f"urn:uuid:e-{i}", f"Patient/{i}", "", None]))
        entry: Any = {"fullUrl": url, "resource": resource} if url is not None else resource
        entries.append(entry if draw(st.booleans()) else draw(_json))
    bundle: JSON = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    if draw(st.booleans()):
        _mutate(draw, bundle)
    return json.dumps(bundle)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_bundle())
def test_fuzzed_bundles_end_loaded_or_quarantined(
    fuzz_store: tuple[Stores, Path], document: str
) -> None:
    stores, root = fuzz_store
    path = root / "fuzz.json"
    path.write_text(document, encoding="utf-8")
    report = _ingest(stores, path, fmt="fhir")
    assert report["quarantined"] >= 0 and report["duplicates_skipped"] >= 0


def test_restricted_records_from_security_labels_and_tags(stores: Stores, tmp_path: Path) -> None:
    conf = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
    marked = {
        "P1": {"security": [{"system": conf, "code": "R"}]},
        "P2": {"tag": [{"system": "https://ehr.example.org/tags", "display": "VIP"}]},
        "P3": {"tag": [{"system": "https://ehr.example.org/flags", "code": "R"}]},  # not a label
        "P4": {"security": [{"system": conf, "code": "N"}]},
    }
    patients = [{**_patient(pid, f"M{pid}"), "meta": meta} for pid, meta in marked.items()]
    _ingest(stores, _write_ndjson(tmp_path / "Patient.ndjson", patients), fmt="fhir")
    patients_t = repo.domain_table("patients")
    with stores.engine.connect() as conn:
        vip = dict(conn.execute(select(patients_t.c.patient_id, patients_t.c.vip)).all())
    assert vip == {"P1": True, "P2": True, "P3": False, "P4": False}
