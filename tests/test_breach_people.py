"""Linking what the recognizers find to patients: on the generator's phished mailbox every
exposed patient is found once with the elements the ground truth lists; the workforce in
the headers is not taken for patients; two patients with one name are told apart by the
date of birth; an SSN that is no patient's goes on the unlinked list."""

from __future__ import annotations

from pathlib import Path

from conftest import ingest_and_scan
from phiwarden.breach.extract import Text, extract_path
from phiwarden.breach.people import Index, Scope, link_text, scope_items
from phiwarden.store.setup import Stores
from phiwarden.synth.mailbox import write_mailbox


def test_the_phished_mailbox_scoped_person_by_person(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    truth = write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    index = Index.load(stores.engine, stores.protector)
    scope = scope_items(extract_path(tmp_path / "compromised.mbox"), index)
    mrn = {pid: p["mrn"] for pid, p in index.patients.items()}
    got = {
        mrn[pid]: {"diagnosis" if e == "clinical" else e for e in person.elements}
        for pid, person in scope.people.items()
    }
    want = {str(t["mrn"]): set(t["elements"]) for t in truth}  # type: ignore[call-overload]
    assert set(got) == set(want), "every exposed patient, and nobody else"
    wrong = {m: (got[m], want[m]) for m in want if got[m] != want[m]}
    assert not wrong
    assert all(person.evidence for person in scope.people.values())
    assert scope.unscannable == []


def test_a_shared_name_is_told_apart_by_the_birth_date_and_strangers_are_unlinked(
    stores: Stores, small_hospital: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    index = Index.load(stores.engine, stores.protector)
    pid, patient = next(iter(index.patients.items()))
    twin = "TWIN-1"
    index.patients[twin] = {**patient, "dob": "1901-01-01"}
    key = next(k for k, v in index.by_name.items() if v == [pid])
    index.by_name[key] = [twin, pid]
    first, last = patient["first_name"], patient["last_name"]
    y, m, d = patient["dob"].split("-")
    scope = Scope()
    texts = [
        Text("letter.pdf", f"{first} {last}, DOB {m}/{d}/{y}, phone (314) 555-0100"),
        Text("m#1/headers", f"From: {first} {last} <x@h.example>\nSubject: hello"),
        Text("list.csv", "SSN 219-09-9999 for someone we do not know"),
        Text("hr.txt", "Employee: Quentin Zzyzx, SSN 457-55-5462, phone (314) 555-0199"),
    ]
    for text in texts:
        for finding in link_text(text, index):
            scope.add(finding)
    assert set(scope.people) == {pid}
    assert scope.people[pid].elements == {"name", "dob", "phone"}
    unlinked = {p.label: (p.elements, {w for w, _ in p.evidence}) for p in scope.unlinked.values()}
    assert unlinked == {
        "unnamed ssn ***-**-9999": ({"ssn"}, {"list.csv"}),
        "Q. Zzyzx": ({"name", "ssn", "phone"}, {"hr.txt"}),
    }


def test_a_shared_name_without_birth_date_is_told_apart_by_the_address_or_left_unlinked(
    stores: Stores, small_hospital: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    index = Index.load(stores.engine, stores.protector)
    pid, patient = next((k, v) for k, v in index.patients.items() if v["address"])
    key = next(k for k, v in index.by_name.items() if v == [pid])
    index.patients["TWIN-2"] = {**patient, "address": "1 ELSEWHERE RD"}
    index.by_name[key] = ["TWIN-2", pid]
    first, last = patient["first_name"], patient["last_name"]
    line = f"{first} {last} lives at 12 Nowhere St"
    [found] = [f for f in link_text(Text("a.txt", line), index) if f.element == "name"]
    assert found.patient_id is None and "2 patients share this name" in found.label
    assert found.snippet.startswith(f"{first[0]}. {last}")
