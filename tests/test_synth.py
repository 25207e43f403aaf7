"""The synthetic hospital generator: contract, determinism, realism and exact ground truth."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from phiwarden.domain.canonical import ACCESS_EVENTS, BY_NAME, OPERATIONAL_TABLES
from phiwarden.domain.canonical_io import read_csv
from phiwarden.domain.enums import IdentityTheftScenario, SnoopingScenario
from phiwarden.synth import SynthResult, SynthSpec, generate

SPEC = SynthSpec(patients=400, workforce=60, days=10, seed=3, formats=("canonical",))
START = datetime(2026, 1, 5)
END = START + timedelta(days=10)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthResult]:
    out = tmp_path_factory.mktemp("synth")
    stages: list[str] = []
    result = generate(out, SPEC, progress=lambda stage, done, total: stages.append(stage))
    assert stages, "progress is reported"
    return out, result


@pytest.fixture(scope="module")
def tables(hospital: tuple[Path, SynthResult]) -> dict[str, list[dict[str, Any]]]:
    out, _ = hospital
    return {
        t.name: read_csv(out / "canonical" / f"{t.name}.csv", t).to_pylist()
        for t in OPERATIONAL_TABLES
    }


@pytest.fixture(scope="module")
def events(hospital: tuple[Path, SynthResult]) -> pa.Table:
    out, _ = hospital
    files = sorted((out / "canonical" / "access_events").glob("day=*/part-0.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


@pytest.fixture(scope="module")
def truth(hospital: tuple[Path, SynthResult]) -> dict[str, Any]:
    return dict(json.loads((hospital[0] / "ground_truth.json").read_text()))


def _by_key(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_spec_sizes_and_errors() -> None:
    small = SynthSpec.size("small")
    assert (small.patients, small.workforce, small.days) == (2000, 200, 30)
    assert SynthSpec.size("large").patients > SynthSpec.size("medium").patients
    with pytest.raises(ValueError, match="small, medium, large"):
        SynthSpec.size("huge")
    with pytest.raises(ValueError, match="workforce"):
        SynthSpec(patients=400, workforce=5, days=10)
    with pytest.raises(ValueError, match="format"):
        SynthSpec(patients=400, workforce=60, days=10, formats=("pdf",))
    assert SynthSpec.for_events(1_000_000).patients > 10_000


def test_same_seed_same_files_other_seed_differs(
    tmp_path: Path, hospital: tuple[Path, SynthResult]
) -> None:
    out, _ = hospital
    again = tmp_path / "again"
    generate(again, SPEC)
    first, second = _files(out), _files(again)
    assert first.keys() == second.keys()
    for name, data in first.items():
        if name.endswith(".parquet"):
            assert pq.read_table(out / name).equals(pq.read_table(again / name)), name
        else:
            assert data == second[name], name
    other = tmp_path / "other"
    generate(other, SynthSpec(patients=400, workforce=60, days=10, seed=4, formats=("canonical",)))
    assert (other / "canonical" / "patients.csv").read_bytes() != first["canonical/patients.csv"]


def test_every_table_reads_back_with_keys_and_required_columns(
    hospital: tuple[Path, SynthResult],
) -> None:
    out, result = hospital
    for table in OPERATIONAL_TABLES:
        data = read_csv(out / "canonical" / f"{table.name}.csv", table)
        assert data.schema.names == table.schema.names
        assert len(data) == result.counts[table.name]
        for column in table.required:
            assert data.column(column).null_count == 0, f"{table.name}.{column}"
        keys = data.column(table.key)
        assert len(pc.unique(keys)) == len(keys), f"{table.name} keys unique"
        if table.name not in ("complaints", "fraud_watch"):
            assert len(data) > 0, table.name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["patients"] == 400 and manifest["counts"] == result.counts


FOREIGN_KEYS = [
    ("departments", "facility_id", "facilities"),
    ("workforce", "department_id", "departments"),
    ("workforce", "manager_id", "workforce"),
    ("patients", "employee_user_id", "workforce"),
    ("patient_merges", "surviving_patient_id", "patients"),
    ("patient_merges", "merged_by_user_id", "workforce"),
    ("patient_addresses", "patient_id", "patients"),
    ("patient_phones", "patient_id", "patients"),
    ("patient_contacts", "patient_id", "patients"),
    ("coverages", "patient_id", "patients"),
    ("encounters", "patient_id", "patients"),
    ("encounters", "department_id", "departments"),
    ("encounters", "facility_id", "facilities"),
    ("encounters", "attending_user_id", "workforce"),
    ("care_team", "encounter_id", "encounters"),
    ("care_team", "user_id", "workforce"),
    ("orders", "encounter_id", "encounters"),
    ("orders", "patient_id", "patients"),
    ("orders", "ordered_by_user_id", "workforce"),
    ("orders", "performing_department_id", "departments"),
    ("prescriptions", "encounter_id", "encounters"),
    ("prescriptions", "prescriber_user_id", "workforce"),
    ("lab_results", "order_id", "orders"),
    ("lab_results", "resulted_by_user_id", "workforce"),
    ("appointments", "patient_id", "patients"),
    ("appointments", "scheduled_by_user_id", "workforce"),
    ("appointments", "provider_user_id", "workforce"),
    ("calls", "patient_id", "patients"),
    ("calls", "user_id", "workforce"),
    ("registrations", "patient_id", "patients"),
    ("registrations", "encounter_id", "encounters"),
    ("registrations", "registered_by_user_id", "workforce"),
    ("billing_accounts", "patient_id", "patients"),
    ("billing_accounts", "guarantor_contact_id", "patient_contacts"),
    ("transactions", "account_id", "billing_accounts"),
    ("transactions", "encounter_id", "encounters"),
    ("complaints", "account_id", "billing_accounts"),
    ("eligibility_responses", "registration_id", "registrations"),
    ("eligibility_responses", "coverage_id", "coverages"),
]


@pytest.mark.parametrize(("table", "column", "target"), FOREIGN_KEYS)
def test_foreign_keys_resolve(
    tables: dict[str, list[dict[str, Any]]], table: str, column: str, target: str
) -> None:
    keys = {r[BY_NAME[target].key] for r in tables[target]}
    missing = {r[column] for r in tables[table] if r[column] is not None} - keys
    assert not missing, f"{table}.{column}: {sorted(missing)[:5]}"


def test_access_events_are_partitioned_sorted_and_consistent(
    hospital: tuple[Path, SynthResult], events: pa.Table, tables: dict[str, list[dict[str, Any]]]
) -> None:
    out, result = hospital
    days = sorted(p.name for p in (out / "canonical" / "access_events").iterdir())
    assert days == [f"day={START.date() + timedelta(days=i)}" for i in range(10)]
    for day in days:
        part = pq.read_table(out / "canonical" / "access_events" / day / "part-0.parquet")
        assert part.schema.equals(ACCESS_EVENTS.schema)
        stamps = part.column("ts").to_pylist()
        assert stamps == sorted(stamps)
        assert all(str(t.date()) == day[4:] for t in stamps)
    assert len(events) == result.counts["access_events"]
    ts = events.column("ts").to_pylist()
    assert min(ts) >= START and max(ts) < END and ts == sorted(ts)
    ids = events.column("event_id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] == "A0000000001"
    users = _by_key(tables["workforce"], "user_id")
    patients = {r["patient_id"] for r in tables["patients"]}
    for row in events.select(
        ["user_id", "patient_id", "department_id", "source_system"]
    ).to_pylist():
        assert row["user_id"] in users and row["patient_id"] in patients
        assert row["department_id"] == users[row["user_id"]]["department_id"]
        assert row["source_system"] == "EHR"
    actions = Counter(events.column("action").to_pylist())
    assert actions.most_common(1)[0][0] == "view" and actions["update"] > 0 and actions["print"] > 0


def _links(tables: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    """(user, patient) pairs that some workflow record ties together."""
    enc = _by_key(tables["encounters"], "encounter_id")
    orders = _by_key(tables["orders"], "order_id")
    pairs = {(r["attending_user_id"], r["patient_id"]) for r in tables["encounters"]}
    pairs |= {(r["user_id"], enc[r["encounter_id"]]["patient_id"]) for r in tables["care_team"]}
    pairs |= {(r["user_id"], r["patient_id"]) for r in tables["calls"]}
    pairs |= {(r["registered_by_user_id"], r["patient_id"]) for r in tables["registrations"]}
    pairs |= {(r["ordered_by_user_id"], r["patient_id"]) for r in tables["orders"]}
    pairs |= {
        (r["resulted_by_user_id"], orders[r["order_id"]]["patient_id"])
        for r in tables["lab_results"]
    }
    pairs |= {(r["scheduled_by_user_id"], r["patient_id"]) for r in tables["appointments"]}
    pairs |= {(r["provider_user_id"], r["patient_id"]) for r in tables["appointments"]}
    pairs |= {(r["prescriber_user_id"], r["patient_id"]) for r in tables["prescriptions"]}
    return pairs


def test_ground_truth_refers_to_existing_records_and_covers_every_scenario(
    truth: dict[str, Any], tables: dict[str, list[dict[str, Any]]]
) -> None:
    users = {r["user_id"] for r in tables["workforce"]}
    patients = {r["patient_id"] for r in tables["patients"]}
    regs = _by_key(tables["registrations"], "registration_id")
    # low and slow needs three whole weeks; this hospital's window is ten days
    short = {SnoopingScenario.LOW_AND_SLOW.value} if SPEC.days < 21 else set()
    assert {s["scenario"] for s in truth["snooping"]} == {s.value for s in SnoopingScenario} - short
    assert {t["scenario"] for t in truth["identity_theft"]} == {
        s.value for s in IdentityTheftScenario
    }
    counts = Counter(s["scenario"] for s in truth["snooping"])
    assert min(counts.values()) >= 2
    for case in truth["snooping"]:
        assert case["user_id"] in users and case["patient_ids"]
        assert set(case["patient_ids"]) <= patients
        assert case["start"] <= case["end"]
    registrations = [t["registration_id"] for t in truth["identity_theft"]]
    assert len(set(registrations)) == len(registrations)
    for theft in truth["identity_theft"]:
        assert regs[theft["registration_id"]]["mrn"] == theft["mrn"]
    assert truth["mailbox"] == []


def test_snooping_accesses_are_present_and_unexplained(
    truth: dict[str, Any], events: pa.Table, tables: dict[str, list[dict[str, Any]]]
) -> None:
    seen: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for row in events.select(["user_id", "patient_id", "ts"]).to_pylist():
        seen[(row["user_id"], row["patient_id"])].append(row["ts"])
    links = _links(tables)
    users = _by_key(tables["workforce"], "user_id")
    snooped = 0
    for case in truth["snooping"]:
        start, end = datetime.fromisoformat(case["start"]), datetime.fromisoformat(case["end"])
        for patient in case["patient_ids"]:
            times = [
                t
                for t in seen[(case["user_id"], patient)]
                if start <= t <= end + timedelta(seconds=1)
            ]
            assert times, (case["scenario"], case["user_id"], patient)
            assert (case["user_id"], patient) not in links, (case["scenario"], patient)
            snooped += len(times)
        if case["scenario"] == "terminated":
            ended = users[case["user_id"]]["termination_date"]
            assert ended is not None and start.date() > ended
    assert 0 < snooped < 0.05 * len(events)


def test_scenario_specifics(truth: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
    patients = _by_key(tables["patients"], "patient_id")
    users = _by_key(tables["workforce"], "user_id")
    for case in truth["snooping"]:
        user = users[case["user_id"]]
        victims = [patients[p] for p in case["patient_ids"]]
        scenario = case["scenario"]
        if scenario == "self":
            assert victims[0]["employee_user_id"] == user["user_id"]
        elif scenario == "family":
            assert all(
                v["address_line"] == user["address_line"] and v["last_name"] == user["last_name"]
                for v in victims
            )
        elif scenario == "coworker":
            assert all(v["employee_user_id"] for v in victims)
        elif scenario == "neighbour":
            assert all(
                v["zip"] == user["zip"]
                and v["address_line"].split(" ", 1)[1].split(" Apt")[0]
                == user["address_line"].split(" ", 1)[1].split(" Apt")[0]
                for v in victims
            )
        elif scenario == "vip":
            assert all(v["vip"] for v in victims)
        elif scenario == "deceased":
            assert all(v["deceased_date"] for v in victims)
        elif scenario == "controlled_substance_panel":
            assert user["role"] == "call_center_agent"
            rx = [
                r
                for r in tables["prescriptions"]
                if r["dea_schedule"] and r["patient_id"] in case["patient_ids"]
            ]
            assert {r["patient_id"] for r in rx} == set(case["patient_ids"])
            assert len({r["prescriber_user_id"] for r in rx if r["encounter_id"] is None}) == 1
            assert len({patients[p]["state"] for p in case["patient_ids"]}) >= 2
        elif scenario == "bulk_curiosity":
            assert len(victims) >= 30


def _ssn_ok(ssn: str) -> bool:
    area, group, serial = int(ssn[:3]), int(ssn[4:6]), int(ssn[7:])
    advertising = {"078-05-1120", "219-09-9999", "457-55-5462"}
    issued = area not in (0, 666) and area < 900 and group != 0 and serial != 0
    return issued and ssn not in advertising


def test_patient_identities(truth: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> None:
    patients = tables["patients"]
    regs = _by_key(tables["registrations"], "registration_id")
    injected = {regs[t["registration_id"]]["patient_id"] for t in truth["identity_theft"]}
    clean = [p for p in patients if p["patient_id"] not in injected]
    assert all(_ssn_ok(p["ssn"]) for p in clean if p["ssn"])
    early = [p for p in clean if p["ssn"] and p["dob"] < date(2011, 1, 1)]
    assert sum(int(p["ssn"][:3]) <= 733 for p in early) >= 0.98 * len(early)
    ssns = Counter(p["ssn"] for p in clean if p["ssn"])
    assert max(ssns.values()) == 1
    assert any(p["ssn"] is None for p in patients)
    users = _by_key(tables["workforce"], "user_id")
    employees = [p for p in patients if p["employee_user_id"]]
    assert len(employees) >= 10
    for p in employees:
        u = users[p["employee_user_id"]]
        assert (p["first_name"], p["last_name"], p["address_line"], p["phone"]) == (
            u["first_name"],
            u["last_name"],
            u["address_line"],
            u["phone"],
        )
    homes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in clean:
        homes[(p["address_line"], p["zip"])].add(p["last_name"])
    assert sum(1 for names in homes.values() if len(names) == 1) > 0.8 * len(homes)
    families = Counter((p["last_name"], p["address_line"], p["phone"]) for p in clean)
    assert sum(1 for n in families.values() if n >= 3) >= 10
    assert any(p["vip"] for p in patients) and any(p["deceased_date"] for p in patients)
    retired = {m["merged_mrn"] for m in tables["patient_merges"]}
    assert retired and not retired & {p["mrn"] for p in patients}
    assert any(p["previous_names"] for p in patients)
    contacts = tables["patient_contacts"]
    user_phones = {(u["last_name"], u["phone"]) for u in users.values()}
    assert any((c["last_name"], c["phone"]) in user_phones for c in contacts)


def test_blood_types_consistent_except_injected(
    truth: dict[str, Any], tables: dict[str, list[dict[str, Any]]]
) -> None:
    patients = _by_key(tables["patients"], "patient_id")
    orders = _by_key(tables["orders"], "order_id")
    regs = _by_key(tables["registrations"], "registration_id")
    stolen = {
        regs[t["registration_id"]]["encounter_id"]
        for t in truth["identity_theft"]
        if t["scenario"] == "blood_type_conflict"
    }
    abo = [r for r in tables["lab_results"] if r["test"] == "ABO/Rh"]
    for r in abo:
        order = orders[r["order_id"]]
        conflict = r["value"] != patients[r["patient_id"]]["blood_type"]
        assert conflict == (order["encounter_id"] in stolen), r


def test_identity_theft_signals(
    truth: dict[str, Any], tables: dict[str, list[dict[str, Any]]]
) -> None:
    regs = _by_key(tables["registrations"], "registration_id")
    patients = tables["patients"]
    watch = {r["value"] for r in tables["fraud_watch"]}
    elig = {r["registration_id"]: r for r in tables["eligibility_responses"]}
    accounts = _by_key(tables["billing_accounts"], "account_id")
    for theft in truth["identity_theft"]:
        reg = regs[theft["registration_id"]]
        scenario = theft["scenario"]
        if scenario == "shared_ssn":
            owners = [p for p in patients if p["ssn"] == reg["presented_ssn"]]
            assert len({(p["last_name"], p["dob"]) for p in owners}) >= 2
        elif scenario == "ssn_never_issued":
            assert not _ssn_ok(reg["presented_ssn"])
        elif scenario == "ssn_dob_mismatch":
            area = int(reg["presented_ssn"][:3])
            assert (734 <= area <= 749 or 773 <= area <= 899) and reg["presented_dob"] < date(
                1980, 1, 1
            )
        elif scenario == "fraud_address":
            assert any(v.startswith(reg["presented_address_line"] + ",") for v in watch)
        elif scenario == "fraud_phone":
            assert reg["presented_phone"] in watch
        elif scenario == "insurance_mismatch":
            e = elig[reg["registration_id"]]
            assert e["aaa_code"] == "75" or (e["first_name"], e["dob"]) != (
                reg["presented_first_name"],
                reg["presented_dob"],
            )
        elif scenario == "returned_mail":
            account = [
                a
                for a in accounts.values()
                if a["patient_id"] == reg["patient_id"] and a["returned_mail_count"] >= 2
            ]
            assert account
            later = [
                t
                for t in tables["transactions"]
                if t["account_id"] == account[0]["account_id"]
                and t["posted_at"] > account[0]["last_returned_mail_at"]
            ]
            assert later
        elif scenario == "complaint":
            assert any(
                c["patient_id"] == reg["patient_id"] and c["received_at"] > reg["registered_at"]
                for c in tables["complaints"]
            )


def test_legitimate_work_follows_shifts(
    truth: dict[str, Any], events: pa.Table, tables: dict[str, list[dict[str, Any]]]
) -> None:
    users = _by_key(tables["workforce"], "user_id")
    snoopers = {c["user_id"] for c in truth["snooping"]}
    inside = total = 0
    for row in events.select(["user_id", "ts"]).to_pylist():
        if row["user_id"] in snoopers:
            continue
        u = users[row["user_id"]]
        s, e = u["shift_start_hour"], u["shift_end_hour"]
        h = row["ts"].hour + row["ts"].minute / 60
        ok = (s - 0.5 <= h < e + 1) if s < e else (h >= s - 0.5 or h < e + 1)
        inside += ok
        total += 1
    assert inside >= 0.995 * total
    per_user = Counter(e for e in events.column("user_id").to_pylist())
    assert max(per_user.values()) < 0.1 * len(events)


def test_small_size_has_about_100k_events(tmp_path: Path) -> None:
    result = generate(tmp_path, replace(SynthSpec.size("small", seed=5), formats=("canonical",)))
    assert 80_000 <= result.counts["access_events"] <= 130_000
