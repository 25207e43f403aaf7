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
    index.patients[twin] = {**patient, "patient_id": twin, "dob": "1901-01-01"}
    key = next(k for k, v in index.by_name.items() if v == [pid])
    index.by_name[key] = [twin, pid]
    first, last = patient["first_name"], patient["last_name"]
    scope = Scope()
    text = f"{first} {last}, DOB {patient['dob']:%m/%d/%Y}, phone (314) 555-0100"
    link_text(Text("letter.pdf", text), index, scope)
    link_text(
        Text("m#1/headers", f"From: {first} {last} <x@h.example>\nSubject: hello"), index, scope
    )
    link_text(Text("list.csv", "SSN 219-09-9999 for someone we do not know"), index, scope)
    assert set(scope.people) == {pid}
    assert scope.people[pid].elements == {"name", "dob", "phone"}
    assert scope.unlinked == [{"element": "ssn", "where": "list.csv"}]
