"""FHIR R4 NDJSON export of the canonical hospital: valid lines, resolvable references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from canonical_fixture import build_canonical
from phiwarden.formats.fhir_codes import RESOURCE_TYPES
from phiwarden.synth.fhir import write_fhir
from phiwarden.synth.fhir_audit import assemble, fragments, json_escape, write_audit_events

DCM = "http://dicom.nema.org/resources/ontology/DCM"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, int], Path]:
    root = tmp_path_factory.mktemp("fhir")
    canonical = build_canonical(root)
    counts = write_fhir(canonical, root / "fhir")
    return counts, root / "fhir"


def _load(out: Path, rtype: str) -> list[dict[str, Any]]:
    lines = (out / f"{rtype}.ndjson").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_every_file_is_valid_ndjson_with_matching_counts(
    exported: tuple[dict[str, int], Path],
) -> None:
    counts, out = exported
    assert set(counts) == set(RESOURCE_TYPES)
    for rtype in RESOURCE_TYPES:
        resources = _load(out, rtype)
        assert len(resources) == counts[rtype] > 0, rtype
        assert all(r["resourceType"] == rtype for r in resources)
        ids = [r["id"] for r in resources]
        assert len(ids) == len(set(ids)), f"duplicate ids in {rtype}"
    assert counts["Patient"] == 60
    assert counts["Organization"] == 2 + 4
    assert counts["AuditEvent"] == 600


def test_every_reference_resolves(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    ids = {rtype: {r["id"] for r in _load(out, rtype)} for rtype in RESOURCE_TYPES}
    checked = 0
    for rtype in RESOURCE_TYPES:
        for res in _load(out, rtype):
            for ref in _references(res):
                kind, _, ident = ref.partition("/")
                assert ident in ids[kind], f"{rtype}/{res['id']} -> {ref}"
                checked += 1
    assert checked > 1000


def test_patient_identifiers_names_and_flags(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    patients = {p["id"]: p for p in _load(out, "Patient")}
    p7 = patients["P00007"]
    mrn = next(i for i in p7["identifier"] if i["system"] == "urn:phiwarden:mrn")
    assert mrn["value"] == "MRN100007" and mrn["type"]["coding"][0]["code"] == "MR"
    ssn = next(i for i in p7["identifier"] if i["system"] == "http://hl7.org/fhir/sid/us-ssn")
    assert ssn["value"] == "507-17-1007"
    assert [n["use"] for n in p7["name"]] == ["official", "old"]
    assert p7["gender"] == "female" and re.fullmatch(r"\d{4}-\d\d-\d\d", p7["birthDate"])
    assert not any(i["system"].endswith("us-ssn") for i in patients["P00011"]["identifier"])
    assert patients["P00009"]["deceasedDateTime"] == "2024-01-05"
    assert patients["P00005"]["meta"]["security"][0]["code"] == "R"
    assert {"code": "watch-list", "system": "urn:phiwarden:patient-flag"} in (
        patients["P00006"]["meta"]["tag"]
    )
    employee = patients["P00004"]["extension"][0]
    assert employee["valueReference"] == {"reference": "Practitioner/U2"}
    assert patients["P00005"]["address"][0]["state"] == "CA"
    old = [a for a in patients["P00005"]["address"] if a["use"] == "old"]
    assert old and old[0]["period"]["end"] == "2020-01-01"
    assert patients["P00003"]["name"][0]["family"] == "O'Brien"
    assert patients["P00001"]["contact"][0]["relationship"][0]["coding"][0]["code"] == "C"


def test_related_people_and_coverage_subscribers(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    coverages = {c["id"]: c for c in _load(out, "Coverage")}
    related = {r["id"]: r for r in _load(out, "RelatedPerson")}
    assert coverages["COV1"]["subscriber"] == {"reference": "Patient/P00001"}
    assert coverages["COV1"]["subscriberId"] == "M900001"
    assert coverages["COV1"]["payor"][0]["display"] == "Acme Care"
    assert coverages["COV4"]["subscriber"] == {"reference": "RelatedPerson/C4s"}
    assert related["C4s"]["birthDate"] == "1960-05-05"
    assert related["C4s"]["relationship"][0]["coding"][0]["code"] == "POLHOLD"
    assert coverages["COV-X"]["subscriber"] == {"reference": "RelatedPerson/COV-X-subscriber"}
    assert related["COV-X-subscriber"]["name"][0]["family"] == "Stranger"
    codes = {r["relationship"][0]["coding"][0]["code"] for r in related.values()}
    assert {"N", "C", "GUAR", "POLHOLD"} <= codes


def test_clinical_resources(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    enc = {e["id"]: e for e in _load(out, "Encounter")}
    e2 = enc["E2"]
    assert e2["class"]["code"] == "EMER" and e2["status"] == "finished"
    assert e2["period"]["start"].endswith("Z")
    assert {p["individual"]["reference"] for p in e2["participant"]} == {
        "Practitioner/U1",
        "Practitioner/U2",
    }
    assert e2["location"][0]["location"] == {"reference": "Location/D1"}
    assert enc["E9"]["status"] == "in-progress" and "end" not in enc["E9"]["period"]
    rx = {m["id"]: m for m in _load(out, "MedicationRequest")}
    assert rx["RX4"]["extension"][0]["valueCoding"]["code"] == "II"
    assert "extension" not in rx["RX1"]
    obs = {o["id"]: o for o in _load(out, "Observation")}
    assert obs["L1"]["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "882-1",
        "display": "ABO and Rh group [Type] in Blood",
    }
    assert obs["L1"]["valueString"] in {"A+", "O-", "B+", "AB+"}
    assert obs["L1"]["encounter"] == {"reference": "Encounter/E1"}
    roles = {r["id"]: r for r in _load(out, "PractitionerRole")}
    assert roles["U3"]["organization"] == {"reference": "Organization/D3"}
    assert roles["U8"]["active"] is False and roles["U8"]["period"]["end"] == "2024-02-01"


def test_audit_events(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    events = {e["id"]: e for e in _load(out, "AuditEvent")}
    plain = events["AE0-1"]
    assert plain["type"] == {"system": DCM, "code": "110110", "display": "Patient Record"}
    assert plain["action"] == "R" and plain["outcome"] == "0"
    assert plain["subtype"] == [{"system": "urn:phiwarden:access-action", "code": "view"}]
    assert re.fullmatch(r"2024-03-01T\d\d:\d\d:\d\dZ", plain["recorded"])
    agent = plain["agent"][0]
    assert agent["requestor"] is True and agent["who"]["reference"] == "Practitioner/U2"
    assert agent["who"]["identifier"]["value"] == "U2"
    assert agent["network"] == {"address": "WS-1", "type": "1"}
    assert plain["source"]["site"] == "D2" and plain["source"]["observer"]["display"] == "EHR"
    entity = plain["entity"][0]
    assert entity["what"] == {"reference": "Patient/P00002"}
    assert entity["type"]["code"] == "1" and entity["role"]["code"] == "1"
    actions = {e["subtype"][0]["code"]: e["action"] for e in events.values()}
    assert actions == {
        "view": "R",
        "create": "C",
        "update": "U",
        "delete": "D",
        "print": "E",
        "search": "E",
        "execute": "E",
    }
    btg = [e for e in events.values() if len(e["subtype"]) == 2]
    assert len(btg) == 12
    for e in btg:
        assert e["subtype"][1]["code"] == "110127"
        assert e["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
        assert e["agent"][0]["purposeOfUse"][0]["coding"][0]["code"] == "ETREAT"
    assert events["AE0-0"]["agent"][0]["purposeOfUse"][0]["text"] == (
        'Pt "unresponsive",\nrésumé \\ stat'
    )
    assert events["AE0-50"]["agent"][0]["purposeOfUse"][0]["text"] == "Emergency"
    assert "purposeOfEvent" not in plain
    assert "network" not in events["AE0-41"]["agent"][0]
    assert events["AE0-97"]["source"]["observer"]["display"] == "unknown"
    assert re.fullmatch(r"2024-03-02T\d\d:\d\d:\d\d\.250000Z", events["AE1-3"]["recorded"])
    assert re.fullmatch(r"2024-03-02T\d\d:\d\d:\d\dZ", events["AE1-1"]["recorded"])


def test_audit_events_in_small_batches_match(
    tmp_path: Path, exported: tuple[dict[str, int], Path]
) -> None:
    _, out = exported
    canonical = build_canonical(tmp_path)
    assert write_audit_events(canonical, tmp_path / "ae.ndjson", batch_rows=7) == 600
    assert (tmp_path / "ae.ndjson").read_bytes() == (out / "AuditEvent.ndjson").read_bytes()


def test_json_escape_and_assemble() -> None:
    raw = pa.array(['a"b', "plain", None, "tab\there", "back\\slash"])
    escaped = json_escape(raw)
    for value, esc in zip(raw.to_pylist(), escaped.to_pylist(), strict=True):
        assert esc is None if value is None else json.loads(f'"{esc}"') == value
    table, index = fragments([pa.array(["x", "y", "x", None])], lambda v: f"<{v}>")
    line = assemble(["[", pa.array(["1", "2", None, "4"]), "|", (table, index), "]"], 4)
    assert line.to_pylist() == ["[1|<x>]", "[2|<y>]", "[|<x>]", "[4|<None>]"]


def test_recorded_keeps_the_wall_clock(exported: tuple[dict[str, int], Path]) -> None:
    _, out = exported
    first = json.loads((out / "AuditEvent.ndjson").open(encoding="utf-8").readline())
    parsed = datetime.fromisoformat(first["recorded"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.date().isoformat() == "2024-03-01"
