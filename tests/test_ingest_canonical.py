"""Canonical CSV/Parquet ingest: good records load, bad ones are quarantined, re-runs add nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phiwarden.ingest.run import UnsupportedFormatError, run_ingest
from phiwarden.ingest.validate import MissingColumnsError
from phiwarden.lake.reader import lake_stats
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores

FILES = {
    "facilities.csv": "facility_id,name,city,state\nF1,General,St. Louis,MO\nF2,North,Dallas,TX\n",
    "departments.csv": "department_id,name,kind,facility_id\nD1,Cardiology,clinical,F1\nD2,Call center,call_center,F2\n",
    "workforce.csv": (
        "user_id,login,first_name,last_name,role,department_id,hire_date,shift_start_hour\n"
        "U1,jdoe,Jane,Doe,nurse,D1,2019-04-01,7\nU2,bsmith,Bob,Smith,call_center_agent,D2,2021-01-10,8\n"
    ),
    "patients.csv": (
        "patient_id,mrn,first_name,last_name,dob,sex,ssn,vip\n"
        "P1,M001,Ann,Lee,1980-02-03,F,123-45-6789,false\n"
        "P2,M002,Carl,Diaz,1975-13-40,M,234-56-7890,false\n"
        "P3,,Dora,King,1990-05-06,F,,true\n"
        "P4,M004,Eve,Park,2001-07-08,F,345-67-8901,no\n"
    ),
    "encounters.csv": (
        "encounter_id,patient_id,type,department_id,facility_id,start,end,attending_user_id\n"
        "E1,P1,outpatient,D1,F1,2026-01-05T09:00:00,2026-01-05T10:00:00,U1\n"
        "E2,P9,outpatient,D1,F1,2026-01-05 11:00:00,,U1\n"
        "E3,P4,inpatient,D1,F1,2026-01-06T08:00:00,2026-01-08T12:00:00,U1\n"
    ),
    "access_events.csv": (
        "event_id,ts,user_id,patient_id,action,source_system,workstation,department_id,break_the_glass,btg_reason\n"
        "A1,2026-01-05T09:05:00,U1,P1,view,EHR,WS1,D1,false,\n"
        "A2,2026-01-05T09:06:00,U1,P1,update,EHR,WS1,D1,false,\n"
        "A3,2026-01-06T08:30:00,U9,P4,view,EHR,WS1,D1,false,\n"
        "A4,not-a-time,U2,P4,view,EHR,WS2,D2,true,covering\n"
        "A5,2026-01-07T02:00:00,U2,P4,view,EHR,WS2,D2,true,emergency\n"
    ),
}


@pytest.fixture
def hand_made(tmp_path: Path) -> Path:
    folder = tmp_path / "canonical"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    return folder


def _ingest(stores: Stores, *paths: Path) -> dict[str, object]:
    report = run_ingest(
        list(paths),
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return report.to_json()


def test_bad_records_are_quarantined_and_good_ones_load(stores: Stores, hand_made: Path) -> None:
    result = _ingest(stores, hand_made)
    assert result["loaded"] == {
        "access_events": 4,
        "departments": 2,
        "encounters": 2,
        "facilities": 2,
        "patients": 2,
        "workforce": 2,
    }
    assert result["quarantined"] == 4
    with stores.engine.connect() as conn:
        rejected = {
            (Path(r["source"]).name, r["location"]): r["reason"] for r in repo.list_quarantine(conn)
        }
    assert rejected == {
        ("patients.csv", "line 3"): "dob: cannot read as date32[day]",
        ("patients.csv", "line 4"): "missing required field mrn",
        ("encounters.csv", "line 3"): "unknown reference patient_id=P9",
        ("access_events.csv", "line 5"): "ts: cannot read as timestamp[us]",
    }
    # an access by a user the directory does not hold loads, and is reported as a gap
    assert result["directory_gaps"] == [
        {"table": "access_events", "column": "user_id", "records": 1, "examples": ["U9"]}
    ]
    assert lake_stats(stores.settings.lake_dir)["rows"] == 4


def test_reingest_adds_nothing(stores: Stores, hand_made: Path) -> None:
    _ingest(stores, hand_made)
    with stores.engine.connect() as conn:
        before = repo.table_counts(conn)
    again = _ingest(stores, hand_made)
    assert sum(again["loaded"].values()) == 0  # type: ignore[union-attr]
    assert again["duplicates_skipped"] == 2 + 2 + 2 + 2 + 2 + 4
    with stores.engine.connect() as conn:
        assert repo.table_counts(conn) == before
        assert repo.count_quarantine(conn) == 4
    assert lake_stats(stores.settings.lake_dir)["rows"] == 4


def test_ssn_from_a_file_is_never_stored_in_clear(stores: Stores, hand_made: Path) -> None:
    _ingest(stores, hand_made)
    with stores.engine.connect() as conn:
        patient = repo.get_patient_by_mrn(conn, "M001")
        dump = json.dumps(
            {k: v for k, v in (patient or {}).items() if k != "ssn_encrypted"}, default=str
        )
        assert "123-45-6789" not in dump and "123456789" not in dump
        assert [p["mrn"] for p in repo.patients_with_ssn(conn, stores.protector, "123456789")] == [
            "M001"
        ]


def test_missing_required_column_is_a_clear_error(stores: Stores, tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text("patient_id,first_name,last_name,dob\nP1,Ann,Lee,1980-02-03\n")
    with pytest.raises(MissingColumnsError, match="no column mrn"):
        _ingest(stores, path)


def test_unknown_file_and_format_are_clear_errors(stores: Stores, tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="--format"):
        _ingest(stores, odd)
    with pytest.raises(FileNotFoundError, match="no such file"):
        _ingest(stores, tmp_path / "nope.csv")


def test_the_synthetic_hospital_loads_whole(stores: Stores, small_hospital: Path) -> None:
    manifest = json.loads((small_hospital / "manifest.json").read_text())
    result = _ingest(stores, small_hospital / "canonical")
    assert result["quarantined"] == 0
    assert result["loaded"] == {k: v for k, v in manifest["counts"].items()}
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
    assert {k: counts[k] for k in counts} == {
        k: v for k, v in manifest["counts"].items() if k != "access_events"
    }
    assert lake_stats(stores.settings.lake_dir)["rows"] == manifest["counts"]["access_events"]


def test_fixed_source_ingested_again_adds_only_what_was_missing(
    stores: Stores, hand_made: Path
) -> None:
    _ingest(stores, hand_made)
    assert lake_stats(stores.settings.lake_dir)["rows"] == 4
    # The hospital fixes the export: the bad time is fixed.
    fixed = FILES["access_events.csv"].replace("not-a-time", "2026-01-06T10:00:00")
    (hand_made / "access_events.csv").write_text(fixed)
    again = _ingest(stores, hand_made / "access_events.csv")
    assert again["loaded"] == {"access_events": 1}
    assert again["quarantined"] == 0
    assert lake_stats(stores.settings.lake_dir)["rows"] == 5
