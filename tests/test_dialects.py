"""Any hospital's data: the standard FHIR dialect loads with nothing quarantined, standard
codes and a hospital's own codes map, dangling references degrade, and the whole pipeline
(ingest, monitor, link, red flags) runs on each dialect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from phiwarden.formats.controlled import schedule_of
from phiwarden.formats.terminology import CodeMap, MappingError
from phiwarden.identity.run import link_patient_index
from phiwarden.ingest.fhir_clinical import blood_group
from phiwarden.ingest.run import run_ingest
from phiwarden.monitor import run_monitor
from phiwarden.monitor.readiness import readiness
from phiwarden.redflags.scan import run_scan
from phiwarden.store.schema import DOMAIN_TABLES
from phiwarden.store.setup import Stores
from phiwarden.synth.dialect_epic import write_epic_like
from phiwarden.synth.dialect_standard import rewrite_standard

NUCC = "http://nucc.org/provider-taxonomy"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small hospital as phiwarden's FHIR export and as the standard dialect."""
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    out = tmp_path_factory.mktemp("dialects")
    spec = SynthSpec(patients=400, workforce=60, days=7, seed=5, formats=("fhir", "canonical"))
    generate(out, spec)
    standard = out / "fhir-standard"
    shutil.copytree(out / "fhir", standard)
    rewrite_standard(standard, 5)
    write_epic_like(out / "canonical", out)
    return {
        "phiwarden": out / "fhir",
        "standard": standard,
        "epic-like": out / "epic-like",
        "truth": out / "ground_truth.json",
    }


def _ingest(stores: Stores, path: Path, mapping: Path | None = None) -> dict[str, object]:
    # the epic-like export is two inputs, HL7 (directory first) then the access log
    paths = [path / "hl7", path / "access_log"] if (path / "hl7").is_dir() else [path]
    report = run_ingest(
        paths,
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        mapping=mapping,
    )
    return report.to_json()


def test_the_standard_dialect_carries_nothing_of_phiwardens(exports: dict[str, Path]) -> None:
    for path in exports["standard"].glob("*.ndjson"):
        text = path.read_text(encoding="utf-8")
        assert "urn:phiwarden" not in text and "phiwarden.example.org" not in text, path.name


def test_the_epic_like_dialect_is_hl7_and_an_access_log(exports: dict[str, Path]) -> None:
    root = exports["epic-like"]
    hl7 = sorted(p.name for p in (root / "hl7").iterdir())
    assert hl7[0] == "00_directory.hl7" and any(n.startswith("orders_") for n in hl7)
    kinds = {
        line.split("|")[8].split("^")[0]
        for p in (root / "hl7").iterdir()
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.startswith("MSH|")
    }
    assert kinds == {"MFN", "ADT", "ORM", "ORU", "RDE", "SIU"}
    for path in [*(root / "hl7").iterdir(), *(root / "access_log").iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert "urn:phiwarden" not in text, path.name
    assert "USER_LOGIN" in next((root / "access_log").iterdir()).read_text(encoding="utf-8")


@pytest.mark.parametrize("dialect", ["phiwarden", "standard", "epic-like"])
def test_each_dialect_runs_the_whole_pipeline(
    stores: Stores, exports: dict[str, Path], dialect: str
) -> None:
    report = _ingest(stores, exports[dialect])
    assert report["quarantined"] == 0
    loaded = report["loaded"]
    assert isinstance(loaded, dict) and loaded["workforce"] == 60 and loaded["patients"] == 400
    w, pt, d = DOMAIN_TABLES["workforce"], DOMAIN_TABLES["patients"], DOMAIN_TABLES["departments"]
    with stores.engine.connect() as conn:
        roles = dict(conn.execute(select(w.c.user_id, w.c.role)).all())
        kinds = {k for (k,) in conn.execute(select(d.c.kind))}
        employees = conn.execute(select(pt.c.patient_id).where(pt.c.employee_user_id.is_not(None)))
        vips = conn.execute(select(pt.c.patient_id).where(pt.c.vip.is_(True))).all()
    truth = json.loads(exports["truth"].read_text())
    assert "other" not in roles.values()  # every job code read, by code, keyword or department
    assert {"emergency", "registration", "billing", "lab", "pharmacy"} <= kinds
    assert employees.all() and vips
    ready = readiness(stores)
    assert ready.shares["accesses_known_user"] == 1.0
    assert ready.shares["workforce_role"] == 1.0
    if dialect == "standard":  # a third of the shifts were left out of the export
        assert 0.4 < (ready.shares["workforce_shift"] or 0) < 0.9
    if dialect == "epic-like":  # HL7 master files carry no shift; the log tells the hours
        assert not ready.shares["workforce_shift"]
    result = run_monitor(stores)
    assert result.stats["accesses"] > 0
    alerted = {a.user_id for a in result.alerts}
    snoopers = {c["user_id"] for c in truth["snooping"]}
    assert len(alerted & snoopers) >= len(snoopers) // 2  # measured in bench_dialects
    link_patient_index(stores)
    run_scan(stores)


def test_a_hospital_mapping_names_its_own_codes(stores: Stores, exports: dict[str, Path]) -> None:
    mapping = exports["standard"].parent / "codes.toml"
    mapping.write_text(
        '[roles]\n"https://ehr.riverbend.example.org/fhir/CodeSystem/job-code|PFS3" = "coder"\n'
    )
    report = _ingest(stores, exports["standard"], mapping=mapping)
    inferred = report["inferred"]
    assert isinstance(inferred, dict) and inferred["role.mapping"] > 0
    w = DOMAIN_TABLES["workforce"]
    with stores.engine.connect() as conn:
        assert "biller" not in {r for (r,) in conn.execute(select(w.c.role))}


def test_bad_mapping_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "codes.toml"
    bad.write_text('[roles]\n"X1" = "wizard"\n')
    with pytest.raises(MappingError, match="'wizard' is not one of"):
        CodeMap.from_file(bad)
    bad.write_text('[controlled_substances]\n"D1" = "VII"\n')
    with pytest.raises(MappingError, match="DEA schedule"):
        CodeMap.from_file(bad)


def test_standard_codes_and_keywords() -> None:
    codes = CodeMap()
    assert codes.lookup("role", {"coding": [{"system": NUCC, "code": "207RC0000X"}]}) == "physician"
    assert codes.lookup("role", {"text": "Nurse Practitioner"}) == "physician"
    assert codes.lookup("role", {"coding": [{"code": "X", "display": "Staff RN"}]}) == "nurse"
    assert codes.lookup("department_kind", [], names=["Patient Financial Services"]) == "billing"
    assert codes.lookup("department_kind", [], names=["4 West Med/Surg"]) is None
    assert codes.unmapped[("department_kind", "4 West Med/Surg")] == 1
    v3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert codes.lookup("encounter_type", {"system": v3, "code": "HH"}) == "outpatient"


def test_controlled_substances_and_blood_groups() -> None:
    assert schedule_of(["Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet"]) == "II"
    assert schedule_of(["Acetaminophen 300 MG / Codeine Phosphate 30 MG Oral Tablet"]) == "III"
    assert schedule_of([], ["596"]) == "IV"  # alprazolam by its RxNorm ingredient code
    assert schedule_of(["lisinopril 10 MG Oral Tablet"]) is None
    assert blood_group("Blood group A Rh(D) positive") == "A+"
    assert blood_group("O Rh negative") == "O-" and blood_group("AB+") == "AB+"


def test_dangling_references_load_and_are_reported(stores: Stores, tmp_path: Path) -> None:
    folder = tmp_path / "canonical"
    folder.mkdir()
    (folder / "departments.csv").write_text("department_id,name,kind\nD1,Cardiology,clinical\n")
    (folder / "workforce.csv").write_text(
        "user_id,login,last_name,role,department_id\nU1,ann,Lee,nurse,D404\n"
    )
    report = _ingest(stores, folder)
    assert report["quarantined"] == 0
    assert report["directory_gaps"] == [
        {"table": "workforce", "column": "department_id", "records": 1, "examples": ["D404"]}
    ]
    w = DOMAIN_TABLES["workforce"]
    with stores.engine.connect() as conn:
        assert conn.execute(select(w.c.department_id).where(w.c.user_id == "U1")).scalar() is None
