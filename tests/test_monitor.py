"""Access monitoring end to end: explanations, detectors, alerts, cases, suppressions, CLI.

One synthetic hospital (the demo's ``small``: 2,000 patients, 200 users, 30 days, every
snooping scenario twice) is loaded once per module into SQLite and a lake; runs use
``save=False`` unless the test is about what is stored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from conftest import signals_table
from phiwarden.cli import app
from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.layout import list_days
from phiwarden.monitor import population, run_monitor, user_days
from phiwarden.monitor import queue as review_queue
from phiwarden.monitor import store as monitor_store
from phiwarden.monitor.catalogue import BY_CODE, DETECTORS
from phiwarden.monitor.chance import surprise
from phiwarden.monitor.config import MonitorConfig, load_config
from phiwarden.monitor.scoring import score_signals
from phiwarden.store import monitor_tables as mt
from phiwarden.store.setup import Stores, initialise
from phiwarden.synth import generate
from phiwarden.synth.spec import SynthSpec

#: The detector expected among an alert's reasons, per injected scenario.
EXPECTED_REASON = {
    "family": {"relative", "same_address", "same_phone"},
    "coworker": {"coworker"},
    "neighbour": {"neighbour"},
    "vip": {"vip"},
    "self": {"self_access"},
    "deceased": {"deceased"},
    "terminated": {"terminated"},
    "after_hours": {"after_hours"},
    "controlled_substance_panel": {"focus"},
    "bulk_curiosity": {"volume"},
    "low_and_slow": {"low_and_slow"},
}


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("monitor-hospital")
    generate(out, replace(SynthSpec.size("small"), formats=("canonical",)))
    return out


@pytest.fixture(scope="module")
def loaded(hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    root = tmp_path_factory.mktemp("monitor-stores")
    stores, _ = initialise(load_settings(root / "data", f"sqlite:///{root / 'store.db'}"))
    run_ingest(
        [hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return stores


@pytest.fixture
def fresh(loaded: Stores) -> Iterator[Stores]:
    """The loaded stores with no monitor runs, alerts, cases or suppressions."""
    yield loaded
    with loaded.engine.begin() as conn:
        for table in (
            mt.alert_decisions,
            mt.suppressions,
            mt.alerts,
            mt.cases,
            mt.monitor_user_days,
            mt.monitor_runs,
        ):
            conn.execute(delete(table))


def truth(hospital: Path) -> dict[str, str]:
    data = json.loads((hospital / "ground_truth.json").read_text())
    return {c["user_id"]: c["scenario"] for c in data["snooping"]}


def test_every_scenario_is_alerted_for_its_reason(loaded: Stores, hospital: Path) -> None:
    result = run_monitor(loaded, save=False)
    snoopers = truth(hospital)
    by_user = {a.user_id: {r["code"] for r in a.reasons} for a in result.alerts}
    assert result.stats["explained_fraction"] > 0.94
    for user, scenario in snoopers.items():
        if scenario == "low_and_slow":  # a supporting reason: see the next test
            continue
        assert user in by_user, f"{scenario} snooper {user} has no alert"
        assert by_user[user] & EXPECTED_REASON[scenario], (scenario, by_user[user])
    seed = [u for u, s in snoopers.items() if s == "controlled_substance_panel"]
    assert seed and all("focus" in by_user[u] for u in seed)


def test_low_and_slow_finds_persistent_unrelated_access(loaded: Stores, hospital: Path) -> None:
    """Its default weight (0.6) needs another reason; at weight 1 it alerts on its own."""
    slow = [u for u, s in truth(hospital).items() if s == "low_and_slow"]
    alone = MonitorConfig(weights={"low_and_slow": 1.0})
    result = run_monitor(loaded, save=False, config=alone)
    by_user = {a.user_id: {r["code"] for r in a.reasons} for a in result.alerts}
    assert slow and all("low_and_slow" in by_user.get(u, set()) for u in slow), by_user
    flagged = {u for u, codes in by_user.items() if "low_and_slow" in codes}
    assert len(flagged - set(truth(hospital))) <= 1  # at most one innocent user at weight 1


def test_alert_lists_the_snooped_patients_with_evidence(loaded: Stores, hospital: Path) -> None:
    data = json.loads((hospital / "ground_truth.json").read_text())
    panel = next(c for c in data["snooping"] if c["scenario"] == "controlled_substance_panel")
    result = run_monitor(loaded, save=False)
    alert = next(a for a in result.alerts if a.user_id == panel["user_id"])
    focus = next(r for r in alert.reasons if r["code"] == "focus")
    assert set(focus["patient_ids"]) <= set(panel["patient_ids"])
    assert len(focus["patient_ids"]) >= 0.8 * len(panel["patient_ids"])
    assert "controlled-substance" in focus["evidence"][0]["detail"]
    assert alert.accesses > 0 and set(panel["patient_ids"]) & set(alert.patient_ids)


def test_unexplained_accesses_hold_every_snooping_access(loaded: Stores, hospital: Path) -> None:
    result = run_monitor(loaded, save=False)
    stats = result.stats
    assert stats["accesses"] == ds.dataset(loaded.settings.lake_dir / "access_events").count_rows()
    assert stats["explained"] + stats["unexplained"] == stats["accesses"]
    assert sum(stats["by_template"].values()) == stats["explained"]
    assert stats["by_template"]["care_team"] > 0 and stats["by_template"]["call"] > 0


def test_runs_are_incremental_and_rerunning_a_window_adds_nothing(fresh: Stores) -> None:
    days = list_days(fresh.settings.lake_dir)
    first = run_monitor(fresh, days[0], days[9])
    assert first.window is not None and first.window.until == days[9]
    again = run_monitor(fresh, days[0], days[9])
    assert again.alert_ids == first.alert_ids
    with fresh.engine.connect() as conn:
        assert review_queue.count_alerts(conn) == len(first.alerts)
        stored = user_days.user_days(conn, days[0], days[-1])
    assert {d for d in stored.column("day").to_pylist()} <= set(days[:10])
    night = [a.user_id for a in first.alerts if any(r["code"] == "after_hours" for r in a.reasons)]
    late = {
        u: n
        for u, n in zip(
            stored.column("user_id").to_pylist(),
            stored.column("after_hours_patients").to_pylist(),
            strict=True,
        )
        if n
    }
    assert night and set(night) <= set(late)  # stored baselines count off-shift patients
    nxt = run_monitor(fresh)  # no --since: the day after the last window, to the lake's end
    assert nxt.window is not None
    assert nxt.window.since == days[9] + timedelta(days=1) and nxt.window.until == days[-1]
    assert run_monitor(fresh).window is None  # nothing new
    with fresh.engine.connect() as conn:
        cases = {monitor_store.open_case_of(conn, a.user_id) for a in first.alerts}
        for a, alert_id in zip(nxt.alerts, nxt.alert_ids, strict=True):
            if a.user_id in {x.user_id for x in first.alerts}:
                # a repeat alert in a later window joins the user's open case
                assert review_queue.get_alert(conn, alert_id)["case_id"] in cases


def test_appropriate_decision_suppresses_those_reasons(fresh: Stores, hospital: Path) -> None:
    result = run_monitor(fresh)
    snoopers = truth(hospital)
    user = next(u for u, s in snoopers.items() if s == "self")
    index = [a.user_id for a in result.alerts].index(user)
    with fresh.engine.begin() as conn:
        monitor_store.decide(
            conn, result.alert_ids[index], "appropriate", note="HIM request", decided_by="po"
        )
    later = run_monitor(fresh, result.window.since, result.window.until, save=False)
    assert user not in {a.user_id for a in later.alerts}
    # the other alerts are unchanged
    assert {a.user_id for a in later.alerts} == {a.user_id for a in result.alerts} - {user}


def test_population_lists_every_patient_explained_or_not(loaded: Stores, hospital: Path) -> None:
    user = next(u for u, s in truth(hospital).items() if s == "controlled_substance_panel")
    days = list_days(loaded.settings.lake_dir)
    rows = population(loaded, user, days[0], days[-1])
    table = ds.dataset(loaded.settings.lake_dir / "access_events").to_table(
        filter=ds.field("user_id") == user
    )
    assert {r["patient_id"] for r in rows} == set(table.column("patient_id").to_pylist())
    assert sum(r["accesses"] for r in rows) == table.num_rows
    assert all(r["first_access"] <= r["last_access"] and r["mrn"] for r in rows)
    assert all("view" in r["actions"] or "print" in r["actions"] or r["actions"] for r in rows)
    with pytest.raises(ValueError, match="no workforce user"):
        population(loaded, "NOBODY", days[0], days[-1])


def test_cli_monitor_json_and_population_csv(
    loaded: Stores, hospital: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(loaded.settings.data_dir))
    monkeypatch.setenv("PHIWARDEN_DATABASE_URL", loaded.settings.database_url)
    runner = CliRunner()
    days = list_days(loaded.settings.lake_dir)
    window = ["--since", days[0].isoformat(), "--until", days[2].isoformat()]
    res = runner.invoke(app, ["monitor", *window, "--json"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) >= {"alerts", "stats"}
    assert set(doc["stats"]) >= {"accesses", "explained_fraction", "alerts"}
    for alert in doc["alerts"]:
        assert set(alert) >= {"user_id", "score", "reasons", "patient_ids"}
        assert all(isinstance(r, str) for r in alert["reasons"])
    bad = runner.invoke(app, ["monitor", "--since", "yesterday", "--json"])
    assert bad.exit_code != 0 and bad.stdout == "" and "YYYY-MM-DD" in bad.stderr
    engine = runner.invoke(app, ["monitor", *window, "--engine", "foo"])
    assert engine.exit_code != 0 and "unknown engine" in engine.stderr
    user = next(iter(truth(hospital)))
    out = tmp_path / "affected.csv"
    res = runner.invoke(
        app,
        [
            "monitor",
            "population",
            "--user",
            user,
            *window[:2],
            "--until",
            days[-1].isoformat(),
            "--csv",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"mrn", "first_access", "last_access", "actions"} <= set(rows[0])


def test_population_csv_keeps_formulas_inert() -> None:
    import io

    from phiwarden.monitor.population import write_rows

    buffer = io.StringIO()
    write_rows(
        [{"mrn": "1", "last_name": "=HYPERLINK(1)", "first_name": "-Ann", "accesses": 3}], buffer
    )
    row = next(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert row["last_name"] == "'=HYPERLINK(1)" and row["first_name"] == "-Ann"
    assert row["accesses"] == "3"


def test_catalogue_is_complete_and_documented() -> None:
    codes = [d.code for d in DETECTORS]
    assert len(codes) == len(set(codes)) == 20
    docs = (Path(__file__).parents[1] / "docs" / "monitoring.md").read_text(encoding="utf-8")
    for det in DETECTORS:
        assert det.why and det.title and det.reason and det.weight > 0
        assert f"`{det.code}`" in docs, f"docs/monitoring.md does not describe {det.code}"


def test_scoring_weighs_common_attributes_against_chance() -> None:
    assert surprise(0, 1.0) == 0.0
    assert surprise(3, 0.05) > 3 > surprise(1, 0.5)

    sig = signals_table

    # 'a' opened 3 VIPs among 3 unexplained patients; 'b' 1 VIP among 40
    accesses = {("a", f"p{i}"): 1 for i in range(3)} | {("b", f"q{i}"): 1 for i in range(40)}
    rows = [("vip", "a", f"p{i}") for i in range(3)] + [("vip", "b", "q0")]
    drafts = score_signals(sig(rows), MonitorConfig(), (), accesses)
    assert [d.user_id for d in drafts] == ["a"]
    # three of three is far beyond chance: near full weight, times 2 for three patients
    assert BY_CODE["vip"].weight * 1.5 < drafts[0].score <= BY_CODE["vip"].weight * 2
    # a suppression removes exactly that (user, patient, reason)
    rows = [("self_access", "a", "p0")]
    assert score_signals(sig(rows), MonitorConfig(), {("a", "p0", "self_access")}, accesses) == []
    assert len(score_signals(sig(rows), MonitorConfig(), (), accesses)) == 1


def test_tuning_file(tmp_path: Path) -> None:
    (tmp_path / "monitor.toml").write_text("alert_threshold = 2.5\n[weights]\nvip = 0.1\n")
    cfg = load_config(tmp_path)
    assert cfg.alert_threshold == 2.5 and cfg.weight("vip", 1.2) == 0.1
    (tmp_path / "monitor.toml").write_text("alert_treshold = 2\n")
    with pytest.raises(ValueError, match="unknown key"):
        load_config(tmp_path)


def test_matching_keys() -> None:
    from phiwarden.monitor import keys

    assert keys.address_key("2149 Hickory Drive, Apt 3", "60625") == keys.address_key(
        "2149 HICKORY DR #3", "60625-1234"
    )
    assert keys.address_key("2149 Hickory Dr", "60625") != keys.address_key(
        "2149 Hickory Dr #3", "60625"
    )
    assert keys.street_key("15 Hickory Dr", "Chicago") == keys.street_key(
        "2149 Hickory Drive Apt 3", "CHICAGO"
    )
    assert keys.phone_key("+1 (773) 378-6360") == "7733786360"
    assert keys.phone_key("378-6360") is None
    assert keys.sound_key("Smyth") == keys.sound_key("Smith")


def test_learned_shifts_match_the_definition_for_every_user_at_once() -> None:
    """The vectorised search gives, per user, the shortest circular run of hours holding
    the coverage, the earliest start among the best runs of that length."""
    import numpy as np

    from phiwarden.monitor.shifts import shortest_covers

    def by_definition(hours: list[int], coverage: float) -> tuple[int, int]:
        need = coverage * sum(hours)
        for length in range(1, 25):
            sums = [sum(hours[(s + k) % 24] for k in range(length)) for s in range(24)]
            best = max(sums)
            if best >= need:
                return sums.index(best), length
        return 0, 24

    rng = np.random.default_rng(5)
    grid = rng.poisson(3, (300, 24)) * (rng.random((300, 24)) < 0.35)
    grid[0] = 0  # nobody's openings
    grid[1] = 1  # round the clock
    grid[2, [22, 23, 0, 1]] = 50  # a night shift over midnight
    for coverage in (0.8, 0.95):
        starts, lengths = shortest_covers(grid.astype(float), coverage)
        for i, row in enumerate(grid.tolist()):
            assert (starts[i], lengths[i]) == by_definition(row, coverage), i


def test_per_patient_tables_read_for_the_unexplained_patients_give_the_same_signals(
    loaded: Stores,
) -> None:
    """Detectors joining contacts, addresses, phones, coverages, controlled prescriptions
    and last encounters find the same pairs when those tables are read for the unexplained
    patients only (as a run does) as when read whole."""
    import ibis

    from phiwarden.lake.engine import open_backend
    from phiwarden.monitor.context import build_context
    from phiwarden.monitor.explain import explain, unexplained
    from phiwarden.monitor.run import default_window, pairs_of
    from phiwarden.monitor.signals import Inputs

    codes = ("relative", "same_address", "same_phone", "neighbour", "focus")
    codes += ("long_after_encounter",)
    window = default_window(loaded, None, None)
    assert window is not None
    found: list[dict[str, list[tuple[str, str]]]] = []
    contacts: list[int] = []
    for narrowed in (False, True):
        with open_backend("duckdb") as con:
            ctx = build_context(loaded, con, window, load_config(loaded.settings.data_dir))
            openings = explain(ctx)
            left = unexplained(openings)
            pairs = pairs_of(left)
            if narrowed:
                patients = pairs.select("patient_id").distinct().to_pyarrow()["patient_id"]
                ctx.narrow(patients.combine_chunks())
                assert ctx.patients_of_interest is not None
            inputs = Inputs(ctx, openings, left, pairs)
            found.append(
                {
                    code: sorted(
                        (r["user_id"], r["patient_id"])
                        for r in BY_CODE[code]
                        .find(inputs)
                        .mutate(c=ibis.literal(code))
                        .to_pyarrow()
                        .to_pylist()
                    )
                    for code in codes
                }
            )
            contacts.append(ctx.arrow["patient_contacts"].num_rows)
    assert found[0] == found[1]
    scenarios = ("relative", "same_address", "same_phone", "neighbour", "focus")
    assert all(found[1][code] for code in scenarios), "the scenarios give these detectors work"
    assert contacts[1] < contacts[0] / 2, "contacts were read for unexplained patients only"
