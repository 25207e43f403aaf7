"""The breach recognizers (fast regex path): the SSA's SSN rules, context required for
bare numbers and dates (on the line or in the column header), the nearest cue deciding
between a member id and a driver's licence; and, on the generator's phished mailbox, the
share of exposed SSNs, MRNs and birth dates they find."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from phiwarden.breach.extract import Text, extract_path
from phiwarden.breach.recognizers import recognize
from phiwarden.synth.mailbox import write_mailbox


def _found(text: str) -> list[tuple[str, str]]:
    return [(h.element, h.value) for h in recognize(text)]


@pytest.mark.parametrize(
    "ssn",
    ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000"],
)
def test_ssns_the_ssa_never_issues_are_not_ssns(ssn: str) -> None:
    assert _found(f"SSN {ssn}") == []


def test_ssns_with_and_without_dashes_scored_by_context() -> None:
    assert _found("SSN: 219-09-9999") == [("ssn", "219-09-9999")]
    assert _found("ref 219-09-9999") == [("ssn", "219-09-9999")], "dashed: an SSN by its shape"
    assert _found("social security number 219099999") == [("ssn", "219099999")]
    assert _found("invoice 219099999 paid") == [], "nine bare digits need context"


def test_dates_and_record_numbers_need_their_cue() -> None:
    assert _found("Meeting moved to 01/02/2026, room 10000123") == []
    assert _found("DOB 01/02/1980, MRN 10000123") == [("dob", "01/02/1980"), ("mrn", "10000123")]
    table = "Name\tMRN\tDOB\tMember ID\nJane Roe\t10000123\t03/04/1975\tXKZ123456\n"
    assert _found(table) == [
        ("mrn", "10000123"),
        ("dob", "03/04/1975"),
        ("insurance", "XKZ123456"),
    ], "a table row takes its cues from the header"
    assert ("mrn", "10000123") in _found("mrn,name,visit,dob\n10000123,Roe,ER,1975-03-04\n")
    dates = ["DOB Jan 2, 1980", "DOB 1/2/80", "DOB 01-02-1980", "born 1980-01-02"]
    assert {recognize(t)[0].normal for t in dates} == {"1980-01-02"}


def test_the_nearest_cue_names_the_identifier() -> None:
    found = _found("Member ID: W123456789 Driver's license D1234567, 12 Oak Street")
    assert found == [
        ("insurance", "W123456789"),
        ("drivers_license", "D1234567"),
        ("address", "12 Oak Street"),
    ]
    assert _found("Diagnosis: Type 2 diabetes (E11.9); call (314) 555-0199, a@b.org") == [
        ("clinical", "E11.9"),
        ("phone", "(314) 555-0199"),
        ("email", "a@b.org"),
    ]


def test_on_the_phished_mailbox_every_exposed_identifier_is_found(
    small_hospital: Path, tmp_path: Path
) -> None:
    truth = write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    with (small_hospital / "canonical" / "patients.csv").open() as f:
        patients = {r["mrn"]: r for r in csv.DictReader(f)}
    found: dict[str, set[str]] = {}
    for item in extract_path(tmp_path / "compromised.mbox"):
        if isinstance(item, Text):
            for hit in recognize(item.text):
                found.setdefault(hit.element, set()).add(hit.normal)
    for element, value in (
        ("ssn", lambda p: p["ssn"].replace("-", "")),
        ("mrn", lambda p: p["mrn"]),
        ("dob", lambda p: p["dob"]),
    ):
        exposed = [p for p in truth if element in p["elements"]]  # type: ignore[operator]
        got = [p for p in exposed if value(patients[str(p["mrn"])]) in found.get(element, set())]
        assert exposed and len(got) / len(exposed) >= 0.98, (element, len(got), len(exposed))


def test_a_drivers_licence_needs_a_cue_and_some_states_layout() -> None:
    from phiwarden.breach.licences import states_for

    assert {"CA", "NY"} <= set(states_for("D1234567"))
    assert "FL" in states_for("S123-456-78-901-0")
    found = [(h.element, h.value) for h in recognize("Driver's license D1234567, seen")]
    assert found == [("drivers_license", "D1234567")]
    assert not [
        h for h in recognize("Driver's license ABCD12, seen") if h.element == "drivers_license"
    ]
    assert not [h for h in recognize("order D1234567 shipped") if h.element == "drivers_license"]
