"""A process killed mid-ingest leaves the stores consistent; running again completes the load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from phiwarden.config import Settings
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.reader import lake_stats
from phiwarden.store import repositories as repo
from phiwarden.store.setup import initialise

PATIENTS = 12_000
EVENTS = 400_000


def _write_hospital(folder: Path) -> None:
    folder.mkdir()
    (folder / "facilities.csv").write_text("facility_id,name,city,state\nF1,General,St. Louis,MO\n")
    (folder / "departments.csv").write_text(
        "department_id,name,kind,facility_id\nD1,Medicine,clinical,F1\n"
    )
    users = [f"U{i:03d}" for i in range(20)]
    (folder / "workforce.csv").write_text(
        "user_id,login,last_name,role,department_id\n"
        + "".join(f"{u},{u.lower()},Name{u},nurse,D1\n" for u in users)
    )
    ids = np.arange(PATIENTS)
    patients = pa.table(
        {
            "patient_id": [f"P{i:06d}" for i in ids],
            "mrn": [f"M{i:06d}" for i in ids],
            "last_name": ["Doe"] * PATIENTS,
            "dob": ["1970-01-01"] * PATIENTS,
            "ssn": [f"123-45-{i % 9000 + 1000}" for i in ids],
        }
    )
    pacsv.write_csv(patients, folder / "patients.csv")
    rng = np.random.default_rng(3)
    ts = np.datetime64("2026-01-05T00:00:00") + rng.integers(0, 5 * 86_400, EVENTS).astype(
        "timedelta64[s]"
    )
    events = pa.table(
        {
            "event_id": [f"A{i:07d}" for i in range(EVENTS)],
            "ts": pa.array(np.sort(ts).astype("datetime64[us]")),
            "user_id": pa.array(users).take(pa.array(rng.integers(0, len(users), EVENTS))),
            "patient_id": pa.array(patients["patient_id"].to_pylist()).take(
                pa.array(rng.integers(0, PATIENTS, EVENTS))
            ),
            "action": ["view"] * EVENTS,
        }
    )
    pacsv.write_csv(events, folder / "access_events.csv")


def _patients(settings: Settings) -> int:
    from phiwarden.store.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return repo.table_counts(conn)["patients"]
    finally:
        engine.dispose()


def _progress_seen(settings: Settings, phase: str) -> bool:
    if phase == "events":
        return lake_stats(settings.lake_dir)["files"] > 0
    return _patients(settings) > 0


@pytest.mark.parametrize("phase", ["patients", "events"])
def test_kill_mid_ingest_then_rerun_completes(
    settings: Settings, tmp_path: Path, phase: str
) -> None:
    stores, _ = initialise(settings)
    folder = tmp_path / "canonical"
    _write_hospital(folder)
    env = {
        **os.environ,
        "PHIWARDEN_INGEST_BATCH_ROWS": "1000",
        "PHIWARDEN_DATA_DIR": str(settings.data_dir),
        "PHIWARDEN_DATABASE_URL": settings.database_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "phiwarden.cli", "ingest", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while (
        not _progress_seen(settings, phase) and proc.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    partial = lake_stats(settings.lake_dir)["rows"]
    partial_patients = _patients(settings)
    if phase == "events":
        assert 0 < partial < EVENTS
        assert partial_patients == PATIENTS
    else:
        assert 0 < partial_patients < PATIENTS
        assert partial_patients % 1000 == 0  # whole batches only: each is one transaction

    report = run_ingest(
        [folder], engine=stores.engine, protector=stores.protector, lake_dir=settings.lake_dir
    )
    assert report.loaded["access_events"] == EVENTS - partial
    assert report.loaded["patients"] == PATIENTS - partial_patients
    assert report.quarantined == 0
    assert lake_stats(settings.lake_dir)["rows"] == EVENTS
    with stores.engine.connect() as conn:
        counts = repo.table_counts(conn)
    assert counts["patients"] == PATIENTS and counts["workforce"] == 20
