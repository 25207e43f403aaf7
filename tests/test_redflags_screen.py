"""Real-time screening of one registration against the small hospital.

The hospital is ingested into SQLite and linked once for the module (screening only
reads); one test runs on both backends through the ``stores`` fixture, before any link.
Registrations are built from the hospital's own canonical files, so the expected answers
follow from what is on file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, inspect, select, table
from typer.testing import CliRunner

from phiwarden.cli import app
from phiwarden.config import load_settings
from phiwarden.identity.names import nicknames
from phiwarden.identity.run import link_patient_index
from phiwarden.ingest.run import run_ingest
from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.redflags.screen import Registration, screen
from phiwarden.store.setup import Stores, initialise

#: An SSN area only issued after randomisation (2011-06-25), and a birth date making its
#: holder 51 at the earliest possible issue.
LATE_SSN = "801-12-3456"
OLD_DOB = "1960-03-15"

NEW_PERSON: dict[str, Any] = {
    "first_name": "Quentin",
    "last_name": "Marlowe",
    "dob": "1999-12-01",
    "sex": "M",
    "address_line": "77 Birch Ln",
    "city": "Plano",
    "state": "TX",
    "zip": "75024",
    "id_type": "passport",
    "id_checked": True,
}


def rows(hospital: Path, name: str) -> list[dict[str, str]]:
    with (hospital / "canonical" / f"{name}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def ordinary_patients(hospital: Path) -> list[dict[str, str]]:
    """Living patients untouched by injected thefts or merges, whose SSN no other patient
    holds or presented, and whose first name has a nickname."""
    patients = rows(hospital, "patients")
    truth = json.loads((hospital / "ground_truth.json").read_text())["identity_theft"]
    involved = {t["mrn"] for t in truth}
    merges = rows(hospital, "patient_merges")
    merged = {m["merged_patient_id"] for m in merges} | {m["surviving_patient_id"] for m in merges}
    holders: dict[str, set[str]] = {}
    for p in patients:
        holders.setdefault(p["ssn"], set()).add(p["patient_id"])
    for r in rows(hospital, "registrations"):
        holders.setdefault(r["presented_ssn"], set()).add(r["patient_id"])
    formal = set(nicknames().values())
    return [
        p
        for p in patients
        if p["ssn"]
        and holders[p["ssn"]] == {p["patient_id"]}
        and not p["deceased_date"]
        and p["mrn"] not in involved
        and p["patient_id"] not in merged
        and p["first_name"].upper() in formal
    ]


def nickname(first: str) -> str:
    """A nickname standing for ``first`` ("William" -> "Bill")."""
    return next(n for n, f in sorted(nicknames().items()) if f == first.upper()).title()


def own_registration(p: dict[str, str], **changes: Any) -> dict[str, Any]:
    """Patient ``p`` presenting their own data: a nickname, the phone written differently."""
    digits = "".join(c for c in p["phone"] if c.isdigit())[-10:]
    reg: dict[str, Any] = {
        "first_name": nickname(p["first_name"]),
        "last_name": p["last_name"],
        "dob": p["dob"],
        "sex": p["sex"],
        "ssn": p["ssn"],
        "address_line": p["address_line"],
        "city": p["city"],
        "state": p["state"],
        "zip": p["zip"],
        "phone": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
        "id_type": "drivers_license",
        "id_checked": True,
    }
    return {**reg, **changes}


def codes(answer: dict[str, Any]) -> set[str]:
    return {f["code"] for f in answer["flags"]}


def flag(answer: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in answer["flags"] if f["code"] == code]
    assert found, f"no {code} in {answer['flags']}"
    return found[0]


def ingest(stores: Stores, hospital: Path) -> None:
    run_ingest(
        [hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )


def row_counts(stores: Stores) -> dict[str, int]:
    """Rows in every table of the operational store."""
    names = inspect(stores.engine).get_table_names()
    with stores.engine.connect() as conn:
        return {
            n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one())
            for n in names
        }


@pytest.fixture(scope="module")
def linked(small_hospital: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """The small hospital in SQLite with its identity index built (read-only for tests)."""
    root = tmp_path_factory.mktemp("screen")
    stores, _ = initialise(load_settings(root / "data", f"sqlite:///{root / 'store.db'}"))
    ingest(stores, small_hospital)
    link_patient_index(stores)
    yield stores
    stores.engine.dispose()


@pytest.fixture(scope="module")
def people(small_hospital: Path) -> list[dict[str, str]]:
    found = ordinary_patients(small_hospital)
    assert len(found) >= 10
    return found


@pytest.fixture
def cli(linked: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli(registration | text)``: run ``redflags screen FILE --json`` on the linked store."""
    for var in ("PHIWARDEN_DATA_DIR", "PHIWARDEN_DATABASE_URL", "PHIWARDEN_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)

    def run(reg: dict[str, Any] | str, *extra: str) -> tuple[int, str, str]:
        path = tmp_path / "registration.json"
        path.write_text(reg if isinstance(reg, str) else json.dumps(reg))
        args = [
            "--data-dir",
            str(linked.settings.data_dir),
            "--database-url",
            linked.settings.database_url,
            "redflags",
            "screen",
            str(path),
            "--json",
            *extra,
        ]
        result = CliRunner().invoke(app, args)
        return result.exit_code, result.stdout, result.stderr

    return run


def one_line_error(code: int, out: str, err: str) -> str:
    """Assert a failed command: non-zero, nothing on stdout, one line on stderr."""
    assert code != 0, (code, out, err)
    assert out == "", out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def check(stores: Stores, reg: dict[str, Any]) -> dict[str, Any]:
    return screen(stores, Registration.model_validate(reg))


def test_existing_patient_with_own_data_proceeds_and_matches(
    linked: Stores, people: list[dict[str, str]], cli: Any
) -> None:
    for p in people[:5]:
        reg = own_registration(p)
        answer = check(linked, reg)
        assert answer["linkage_model"] is True
        assert answer["decision"] == "proceed", (p["mrn"], answer)
        assert not [f for f in answer["flags"] if f["severity"] == "high"], answer["flags"]
        assert answer["matches"] and answer["matches"][0]["mrn"] == p["mrn"], answer["matches"]
    code, out, err = cli(reg)
    assert code == 0, err
    assert json.loads(out) == json.loads(json.dumps(answer, default=str))


def test_new_person_with_a_patients_ssn_is_stopped(
    linked: Stores, people: list[dict[str, str]], cli: Any
) -> None:
    victim = people[0]
    reg = {**NEW_PERSON, "ssn": victim["ssn"]}
    answer = check(linked, reg)
    assert answer["decision"] == "stop"
    assert victim["mrn"] in flag(answer, "FTC-14")["evidence"][0]
    assert "identification" in answer["action"].lower()
    assert victim["mrn"] not in {m["mrn"] for m in answer["matches"]}
    code, out, err = cli(reg)
    assert code == 0, err
    via_cli = json.loads(out)
    assert via_cli["decision"] == "stop" and "FTC-14" in codes(via_cli)
    assert victim["ssn"] not in out and victim["ssn"].replace("-", "") not in out


def test_ssn_rules(linked: Stores, people: list[dict[str, str]]) -> None:
    answer = check(linked, {**NEW_PERSON, "ssn": "078-05-1120"})
    assert "never issued" in flag(answer, "FTC-10")["evidence"][0]

    answer = check(linked, {**NEW_PERSON, "ssn": LATE_SSN, "dob": OLD_DOB})
    evidence = flag(answer, "FTC-11")["evidence"][0]
    assert "51 years old" in evidence and OLD_DOB in evidence

    elder = next(p for p in people if date.fromisoformat(p["dob"]).year <= 1975)
    existing = own_registration(elder, ssn=LATE_SSN, mrn=elder["mrn"])
    assert "FTC-11" not in codes(check(linked, existing))
    # The same number and birth date on someone new is flagged: the MRN is what spares it.
    stranger = {**NEW_PERSON, "ssn": LATE_SSN, "dob": elder["dob"]}
    assert "FTC-11" in codes(check(linked, stranger))


def test_watch_list_address_written_differently(linked: Stores, small_hospital: Path) -> None:
    entry = next(
        w
        for w in rows(small_hospital, "fraud_watch")
        if w["kind"] == "address" and " Dr Ste " in w["value"]
    )
    line, city, state_zip = (part.strip() for part in entry["value"].split(","))
    state, zip_code = state_zip.split()
    written = line.replace(" Dr ", " Drive ").replace(" Ste ", " Suite ")
    assert written != line
    reg = {**NEW_PERSON, "address_line": written, "city": city, "state": state, "zip": zip_code}
    answer = check(linked, reg)
    hit = flag(answer, "FTC-12")
    assert hit["detector"] == "watch_address" and entry["watch_id"] in hit["evidence"][0]
    assert answer["decision"] == "stop"


def test_mail_drop_address(linked: Stores) -> None:
    answer = check(linked, {**NEW_PERSON, "address_line": "1200 Main St PMB 305"})
    hit = flag(answer, "FTC-13")
    assert hit["detector"] == "address_mail_drop" and "mail drop" in hit["evidence"][0].lower()


def test_missing_dob_id_and_photo(linked: Stores) -> None:
    reg = {**NEW_PERSON, "dob": None, "id_type": None, "id_checked": False}
    evidence = flag(check(linked, reg), "FTC-16")["evidence"][0]
    assert "dob" in evidence and "government ID" in evidence
    assert "FTC-16" not in codes(check(linked, NEW_PERSON))


def test_member_id_of_another_patients_coverage(
    linked: Stores, people: list[dict[str, str]], small_hospital: Path
) -> None:
    covs = rows(small_hospital, "coverages")
    mrn_of = {p["patient_id"]: p["mrn"] for p in rows(small_hospital, "patients")}
    holder = people[0]
    owners: dict[str, set[str]] = {}
    for c in covs:
        owners.setdefault(c["member_id"], set()).add(c["patient_id"])
    other = next(
        c
        for c in covs
        if c["subscriber_relationship"] == "self"
        and owners[c["member_id"]] == {c["patient_id"]}
        and c["patient_id"] != holder["patient_id"]
    )
    reg = own_registration(
        holder, mrn=holder["mrn"], payer=other["payer"], member_id=other["member_id"]
    )
    answer = check(linked, reg)
    hit = flag(answer, "HC-INSURANCE")
    assert mrn_of[other["patient_id"]] in hit["evidence"][0]
    own = next(c for c in covs if c["patient_id"] == holder["patient_id"])
    mine = own_registration(holder, mrn=holder["mrn"], member_id=own["member_id"])
    assert "HC-INSURANCE" not in codes(check(linked, mine))


def test_attestations(linked: Stores, cli: Any) -> None:
    answer = check(linked, {**NEW_PERSON, "attestations": ["FTC-05"]})
    hit = flag(answer, "FTC-05")
    assert hit["detector"] == "attestation"
    assert hit["severity"] == BY_CODE["FTC-05"].severity
    for code in ("FTC-14", "XYZ"):
        with pytest.raises(ValidationError, match=code):
            Registration.model_validate({**NEW_PERSON, "attestations": [code]})
        line = one_line_error(*cli({**NEW_PERSON, "attestations": [code]}))
        assert code in line and "attestations" in line


def test_cli_rejects_bad_registrations(linked: Stores, cli: Any) -> None:
    line = one_line_error(*cli({**NEW_PERSON, "mrn": "99999999"}))
    assert "99999999" in line
    line = one_line_error(*cli({**NEW_PERSON, "dob": "1990-02-30"}))
    assert "dob" in line
    one_line_error(*cli('{"first_name": "Quentin", '))
    one_line_error(*cli({**NEW_PERSON, "favourite_colour": "blue"}))
    piped = CliRunner().invoke(app, ["redflags", "screen", "-", "--json"], input="{")
    one_line_error(piped.exit_code, piped.stdout, piped.stderr)


def test_screening_writes_nothing(linked: Stores, people: list[dict[str, str]], cli: Any) -> None:
    before = row_counts(linked)
    assert before["patients"] == 300 and before["registrations"] > 0
    for p in people[:3]:
        check(linked, own_registration(p))
        check(linked, {**NEW_PERSON, "ssn": p["ssn"], "attestations": ["FTC-05"]})
    assert cli(own_registration(people[0], mrn=people[0]["mrn"]))[0] == 0
    assert row_counts(linked) == before


def test_screening_before_link_still_flags_a_shared_ssn(
    stores: Stores, small_hospital: Path
) -> None:
    ingest(stores, small_hospital)
    victim = ordinary_patients(small_hospital)[0]
    before = row_counts(stores)
    answer = check(stores, {**NEW_PERSON, "ssn": victim["ssn"]})
    assert answer["linkage_model"] is False and answer["matches"] == []
    assert victim["mrn"] in flag(answer, "FTC-14")["evidence"][0]
    assert answer["decision"] == "stop"
    own = check(stores, own_registration(victim, mrn=victim["mrn"]))
    assert own["linkage_model"] is False
    assert not [f for f in own["flags"] if f["severity"] == "high"], own["flags"]
    assert row_counts(stores) == before
