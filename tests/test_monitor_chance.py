"""Detection that holds on data phiwarden did not write: explanations mined from the log,
and common attributes weighed against their own chance (a surname's frequency, a street,
the peers' rate) instead of one rate for every user."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import signals_table
from phiwarden.ingest.run import run_ingest
from phiwarden.monitor import run_monitor
from phiwarden.monitor.config import MonitorConfig
from phiwarden.monitor.detectors.consecutive_mrns import in_run_by_chance
from phiwarden.monitor.scoring import score_signals
from phiwarden.store.setup import Stores
from phiwarden.synth.dialect_standard import rewrite_standard


def test_runs_of_mrns_by_chance() -> None:
    assert in_run_by_chance(0.0, 3) == 0.0 and in_run_by_chance(1.0, 3) == pytest.approx(1.0)
    low, mid, high = (in_run_by_chance(d, 3) for d in (0.01, 0.08, 0.3))
    assert low < mid < high
    # sparse draws: a run of 3 around a patient needs two more, about 3 d^2
    assert low == pytest.approx(3 * 0.01**2, rel=0.05)


def test_a_users_own_chance_rate_decides_a_common_attribute() -> None:
    # 'a' opened 100 unexplained patients, 5 with a name that sounds like theirs
    accesses = {("a", f"p{i}"): 1 for i in range(100)}
    rows = [("same_last_name", "a", f"p{i}") for i in range(5)]
    rare = score_signals(
        signals_table(rows),
        MonitorConfig(weights={"same_last_name": 1.0}),
        (),
        accesses,
        rates={"same_last_name": {"a": 0.001}},
    )
    common = score_signals(
        signals_table(rows),
        MonitorConfig(weights={"same_last_name": 1.0}),
        (),
        accesses,
        rates={"same_last_name": {"a": 0.05}},
    )
    assert [d.user_id for d in rare] == ["a"]  # 5 where 0.1 are due: not chance
    assert common == []  # 5 where 5 are due (a Smith among Smiths): chance


def test_peers_rate_stands_for_chance_when_they_have_enough_pairs() -> None:
    # ten call-centre agents, 100 unexplained patients each, 8 of them co-workers (their
    # calls are not in the export); fifty nurses with 20 unexplained patients and none
    accesses = {(f"c{u}", f"p{u}-{i}"): 1 for u in range(10) for i in range(100)}
    accesses |= {(f"n{u}", f"q{u}-{i}"): 1 for u in range(50) for i in range(20)}
    rows = [("coworker", f"c{u}", f"p{u}-{i}") for u in range(10) for i in range(8)]
    groups = {f"c{u}": "call_center_agent" for u in range(10)}
    groups |= {f"n{u}": "nurse" for u in range(50)}
    cfg = MonitorConfig(weights={"coworker": 1.0})
    # against every user's rate (4%) each agent's 8 look unusual; against the other
    # agents' (8%) they are what every agent meets
    assert len(score_signals(signals_table(rows), cfg, (), accesses)) == 10
    assert score_signals(signals_table(rows), cfg, (), accesses, groups) == []


@pytest.fixture(scope="module")
def standard_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    out = tmp_path_factory.mktemp("mined")
    generate(out, SynthSpec(patients=600, workforce=80, days=10, seed=9, formats=("fhir",)))
    standard = out / "fhir-standard"
    shutil.copytree(out / "fhir", standard)
    rewrite_standard(standard, 9)
    return standard


def test_mined_facility_encounter_explains_front_desk_work(
    stores: Stores, standard_export: Path
) -> None:
    run_ingest(
        [standard_export],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    off = run_monitor(stores, config=MonitorConfig(mined_min_support=1.01), save=False)
    on = run_monitor(stores, config=MonitorConfig(mined_min_openings=20), save=False)
    mined = {(m["template"], m["role"]): m for m in on.stats["mined_templates"]}
    registrars = mined[("facility_encounter", "registrar")]
    # registrars check in whoever arrives: the path holds for most of what they open
    assert registrars["kept"] and registrars["support"] >= 0.6 and registrars["lift"] >= 5
    # call-centre work is calls (Communication), not visits: the path is tried, not kept
    assert not mined[("facility_encounter", "call_center_agent")]["kept"]
    assert all(type(m["kept"]) is bool and type(m["lift"]) is float for m in mined.values())
    assert on.stats["by_template"]["facility_encounter"] > 0
    assert off.stats["by_template"]["facility_encounter"] == 0
    assert on.stats["explained_fraction"] > off.stats["explained_fraction"]


def test_an_account_missing_from_the_directory_is_an_alert(
    stores: Stores, standard_export: Path, tmp_path: Path
) -> None:
    run_ingest(
        [standard_export],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    # a generic login the directory does not know opens three charts
    log = tmp_path / "access_log_20260105.csv"
    patients = standard_export.joinpath("Patient.ndjson").read_text().splitlines()[:3]

    mrns = [
        next(i["value"] for i in json.loads(p)["identifier"] if i.get("system", "").endswith("mrn"))
        for p in patients
    ]
    first = json.loads(standard_export.joinpath("AuditEvent.ndjson").read_text().splitlines()[0])
    day = first["recorded"][:10]
    log.write_text(
        "ACCESS_TIME,METRIC_NAME,PAT_MRN_ID,USER_LOGIN,WORKSTATION_ID,DEPARTMENT_ID,"
        "BTG_REASON,BTG_EXPLANATION\n"
        + "".join(
            f"{day} 12:0{i}:00,Chart Review Accessed,{m},frontdesk2,WS1,,,\n"
            for i, m in enumerate(mrns)
        )
    )
    report = run_ingest(
        [log],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
        fmt="epic",
    )
    assert report.gaps[("access_events", "user_id")] == 3 and report.quarantined == 0
    result = run_monitor(stores, save=False)
    alert = next(a for a in result.alerts if a.user_id == "login:frontdesk2")
    assert [r["code"] for r in alert.reasons] == ["unknown_account"]
    assert len(alert.patient_ids) == 3
