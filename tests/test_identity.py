"""Identity normalisation: names, addresses, phones, SSNs, dates, person records, the scorer."""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.us import ssn as stdnum_ssn

from phiwarden.identity.addresses import address_key, address_type, postcode, usps_form
from phiwarden.identity.dates import parse_dob
from phiwarden.identity.model import COMPARISONS, Parameters, score
from phiwarden.identity.names import clean_name, formal_first, phonetic, split_full_name
from phiwarden.identity.phones import e164, phone_problem
from phiwarden.identity.records import MATCH_SCHEMA, PERSON_COLUMNS, normalise_persons
from phiwarden.identity.ssn import check_ssn, ssn_dob_mismatch

TODAY = date(2026, 1, 15)


# --- names -------------------------------------------------------------------------


def test_clean_name_folds_accents_and_drops_titles_and_suffixes() -> None:
    assert clean_name("Dr. José O'Neil-Smith Jr.") == "JOSE ONEIL SMITH"
    assert clean_name("  mary   ann ") == "MARY ANN"
    assert clean_name("Müller") == "MULLER"
    assert clean_name("123 !!") is None


def test_clean_name_keeps_name_words_that_are_also_titles() -> None:
    assert clean_name("St. John") != clean_name("John")
    assert clean_name("King-Smith") != clean_name("Smith")
    assert clean_name("Ma Long") != clean_name("Long")


def test_formal_first_resolves_nicknames() -> None:
    assert formal_first("BILL") == "WILLIAM"
    assert formal_first("BILL JOHN") == "WILLIAM"
    assert formal_first("WILLIAM") == "WILLIAM"
    assert formal_first("ZEBEDEE") == "ZEBEDEE"


def test_phonetic_key_meets_spelling_variants() -> None:
    assert phonetic("SMYTHE") == phonetic("SMITH")
    assert phonetic("O NEIL") == phonetic("ONEIL")
    assert phonetic("SMITH") != phonetic("JONES")


def test_split_full_name_uses_nameparser() -> None:
    assert split_full_name("Dr. John Quincy Public III") == ("John", "Quincy", "Public")
    assert split_full_name("Smith, John") == ("John", "", "Smith")


# --- addresses -----------------------------------------------------------------------


def test_address_key_agrees_on_spelled_out_and_abbreviated_forms() -> None:
    long_form = address_key("2149 North Hickory Drive, Apartment 3")
    assert long_form == address_key("2149 N HICKORY DR #3")
    assert long_form == address_key("2149 n. hickory dr. apt 3")
    assert long_form != address_key("2149 N HICKORY DR #4")
    assert address_key(" , ") is None


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("PO Box 123", "po_box"),
        ("P.O. Box 55", "po_box"),
        ("Post Office Box 9", "po_box"),
        ("123 Main St PMB 402", "mail_drop"),
        ("PMB 12, PO Box 5", "mail_drop"),
        ("Federal Correctional Institution, 100 Elm Rd", "prison"),
        ("St. Louis County Jail, 1 Main St", "prison"),
        ("4040 Main St", None),
        ("2149 North Hickory Drive, Apartment 3", None),
    ],
)
def test_address_type(line: str, kind: str | None) -> None:
    found = address_type(line)
    if kind is None:
        assert found is None
    else:
        assert found is not None and found[0] == kind and found[1]


def test_postcode_keeps_zip5_or_foreign_alnum() -> None:
    assert postcode("63005") == "63005"
    assert postcode("63005-1234") == "63005"
    assert postcode("630051234") == "63005"
    assert postcode("SW1A 2AA") == "SW1A2AA"
    assert postcode("k1a 0b1") == "K1A0B1"
    assert postcode(" - ") is None


def test_usps_form() -> None:
    assert (
        usps_form("2149 North Hickory Drive, Apartment 3", "Springfield", "il", "62702")
        == "2149 N HICKORY DR APT 3, SPRINGFIELD, IL 62702"
    )
    assert usps_form("PO Box 123", "Springfield", "IL", "62702") is None


def test_address_key_agrees_with_scourgify_on_the_small_hospital(small_hospital: Path) -> None:
    """Our token-by-token key equals the key of scourgify's USPS street part."""
    canonical = small_hospital / "canonical"
    lines: dict[str, dict[str, str]] = {}
    for name in ("patients.csv", "patient_addresses.csv"):
        with (canonical / name).open(newline="") as f:
            for row in csv.DictReader(f):
                if row["address_line"]:
                    lines.setdefault(row["address_line"], row)
    checked, differ = 0, []
    for line, row in lines.items():
        form = usps_form(line, row["city"], row["state"], row["zip"])
        if form is None:
            continue
        street = form.split(",")[0]
        if address_key(line) != address_key(street):
            differ.append(f"{line!r}: {address_key(line)!r} vs scourgify {street!r}")
        checked += 1
        if checked >= 300:
            break
    assert checked >= 100, "the small hospital has at least 100 parseable address lines"
    agree = 1 - len(differ) / checked
    assert agree >= 0.98, f"{len(differ)} of {checked} differ:\n" + "\n".join(differ)


# --- phones --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(314) 555-0123", "+13145550123"),
        ("314.555.0123", "+13145550123"),
        ("314-555-0123", "+13145550123"),
        ("1-314-555-0123", "+13145550123"),
        ("+1 314 555 0123", "+13145550123"),
        ("3145550123", "+13145550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+442079460958", "+442079460958"),
        ("junk", None),
        ("123", None),
        ("", None),
    ],
)
def test_e164(raw: str, expected: str | None) -> None:
    assert e164(raw) == expected


def test_phone_problem() -> None:
    assert phone_problem("not a number") is not None
    assert "not a phone number" in (phone_problem("junk") or "")
    assert phone_problem("+44 20 7946 0958") is None


# --- SSN -----------------------------------------------------------------------------


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_never_issued_is_stdnum_validity(d: str) -> None:
    assert (check_ssn(d).never_issued is None) == stdnum_ssn.is_valid(d)


@pytest.mark.parametrize("value", ["078-05-1120", "987-65-4321", "000-12-3456", "123-00-4567"])
def test_advertising_and_impossible_numbers_are_never_issued(value: str) -> None:
    found = check_ssn(value)
    assert found.never_issued is not None and not found.malformed


def test_post_randomisation_ssn_and_age_at_issue() -> None:
    adult = check_ssn("801-12-3456", date(1960, 1, 1))
    assert adult.never_issued is None and adult.issued_after_randomisation
    assert adult.age_at_issue == 51 and ssn_dob_mismatch(adult)
    child = check_ssn("801-12-3456", date(2015, 3, 1))
    assert child.issued_after_randomisation and not ssn_dob_mismatch(child)
    early = check_ssn("401-12-3456", date(1960, 1, 1))
    assert not early.issued_after_randomisation and early.age_at_issue is None
    assert not ssn_dob_mismatch(early)


def test_malformed_ssn() -> None:
    found = check_ssn("12")
    assert found.malformed and found.digits is None and found.never_issued


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["1980-02-03", "19800203", "02/03/1980", "02-03-1980", "1980/02/03", " 1980-02-03 "]
)
def test_parse_dob_formats(raw: str) -> None:
    assert parse_dob(raw, TODAY) == date(1980, 2, 3)


@pytest.mark.parametrize("raw", ["1980-02-30", "02/30/1980", "2099-01-01", "1879-12-31", "", "x"])
def test_parse_dob_rejects_impossible(raw: str) -> None:
    assert parse_dob(raw, TODAY) is None


def test_parse_dob_limits() -> None:
    assert parse_dob("1880-01-01", TODAY) == date(1880, 1, 1)
    assert parse_dob(TODAY, TODAY) == TODAY
    assert parse_dob("2026-01-16", TODAY) is None
    assert parse_dob(None) is None


# --- person records ------------------------------------------------------------------


def _hasher(value: str) -> str:
    return "h" + hashlib.sha256(value.encode()).hexdigest()[:20]


def _persons(rows: list[dict[str, str | None]]) -> pa.Table:
    return pa.table({c: [r.get(c) for r in rows] for c in PERSON_COLUMNS})


GOOD = {
    "record_id": "r1",
    "first_name": "Bill",
    "last_name": "O'Neil",
    "dob": "03/04/1970",
    "sex": "male",
    "ssn": "401-12-3456",
    "address": "12 North Elm Street, Apartment 4",
    "city": "Kansas City",
    "state": "MO",
    "zip": "64101-1234",
    "phone": "(314) 555-0123",
}
BAD = {
    "record_id": "r2",
    "first_name": "Anne",
    "last_name": "Smythe",
    "dob": "1970-02-30",
    "sex": "F",
    "ssn": "12",
    "address": "10 Downing Street",
    "city": "London",
    "state": "",
    "zip": "SW1A 2AA",
    "phone": "+44 20 7946 0958",
}


def test_normalise_persons_keeps_every_record_and_names_problems() -> None:
    empty = {c: None for c in PERSON_COLUMNS} | {"record_id": "r3"}
    out = normalise_persons(_persons([GOOD, BAD, empty]), _hasher, today=TODAY)
    assert out.schema == MATCH_SCHEMA
    assert out.num_rows == 3
    good, bad, blank = out.to_pylist()
    assert good == {
        "record_id": "r1",
        "first_name": "BILL",
        "first_formal": "WILLIAM",
        "last_name": "ONEIL",
        "last_phonetic": phonetic("ONEIL"),
        "dob": "1970-03-04",
        "sex": "M",
        "ssn_hash": _hasher("401123456"),
        "ssn_last4": "3456",
        "address_key": "12 N ELM ST # 4",
        "city": "KANSAS CITY",
        "postcode": "64101",
        "phone": "+13145550123",
        "member_id": None,
        "problems": None,
    }
    # The bad record keeps what normalised and lists what did not.
    assert bad["record_id"] == "r2" and bad["first_name"] == "ANNE"
    assert bad["last_name"] == "SMYTHE" and bad["sex"] == "F"
    assert bad["dob"] is None
    assert bad["address_key"] == "10 DOWNING ST" and bad["city"] == "LONDON"
    assert bad["postcode"] == "SW1A2AA" and bad["phone"] == "+442079460958"
    problems = bad["problems"].split("; ")
    assert "dob: not a possible date" in problems
    assert "ssn: not nine digits" in problems
    assert "zip: not a US ZIP code" in problems
    assert len(problems) == 3, problems
    # Nothing given is not a problem.
    assert blank["record_id"] == "r3" and blank["problems"] is None
    assert all(v is None for k, v in blank.items() if k != "record_id")


def test_normalise_persons_holds_no_plain_ssn() -> None:
    rows = [GOOD, BAD, GOOD | {"record_id": "r4", "ssn": "401123456"}]
    out = normalise_persons(_persons(rows), _hasher, today=TODAY)
    plain = {"401-12-3456", "401123456", "4011", "40112"}
    for column in out.columns:
        for value in column.to_pylist():
            assert value is None or not any(p in value for p in plain), value
    hashes = out.column("ssn_hash").to_pylist()
    assert hashes[0] == hashes[2] == _hasher("401123456")


def test_normalise_persons_keeps_a_given_ssn_hash() -> None:
    table = _persons([GOOD]).drop_columns(["ssn"])
    table = table.append_column("ssn_hash", pa.array(["stored-hash"]))
    table = table.append_column("ssn_last4", pa.array(["3456"]))
    table = table.append_column("member_id", pa.array(["M1"]))

    def never(_value: str) -> str:
        raise AssertionError("the hasher is not called when ssn_hash is given")

    (row,) = normalise_persons(table, never, today=TODAY).to_pylist()
    assert row["ssn_hash"] == "stored-hash" and row["ssn_last4"] == "3456"
    assert row["member_id"] == "M1" and row["problems"] is None


def test_normalise_persons_accepts_non_string_columns() -> None:
    table = pa.table(
        {
            "record_id": pa.array([1, 2]),
            "first_name": ["Ann", "Bob"],
            "last_name": ["Lee", "Ray"],
            "dob": pa.array([date(1970, 1, 2), None]),
        }
    )
    out = normalise_persons(table, _hasher, today=TODAY)
    assert out.column("record_id").to_pylist() == ["1", "2"]
    assert out.column("dob").to_pylist() == ["1970-01-02", None]


# --- the scorer ----------------------------------------------------------------------


def _parameters() -> Parameters:
    """Agreeing levels count for, the else level against, the null level for nothing."""
    weights: dict[str, tuple[float, ...]] = {}
    for name, levels in COMPARISONS.items():
        agreeing = len(levels) - 2
        weights[name] = (0.0, *(6.0 - 1.5 * i for i in range(agreeing)), -5.0)
    return Parameters(prior=0.001, weights=weights)


def _record(**values: str) -> dict[str, str | None]:
    return {name: values.get(name) for name in MATCH_SCHEMA.names}


SAME = _record(
    first_name="WILLIAM",
    first_formal="WILLIAM",
    last_name="ONEIL",
    last_phonetic="ONL",
    dob="1970-03-04",
    sex="M",
    ssn_hash="h1",
    ssn_last4="3456",
    address_key="12 N ELM ST # 4",
    city="ST LOUIS",
    postcode="63101",
    phone="+13145550123",
)
OTHER = _record(
    first_name="ZOE",
    first_formal="ZOE",
    last_name="KRAMARCZYK",
    last_phonetic="KRMRXK",
    dob="1999-12-25",
    sex="F",
    ssn_hash="h2",
    ssn_last4="7781",
    address_key="908 WESTVIEW BLVD",
    city="DALLAS",
    postcode="75201",
    phone="+12145559876",
)


def test_score_identical_and_different_records() -> None:
    params = _parameters()
    same = score(params, SAME, dict(SAME))
    assert same.probability > 0.99
    assert all(i == 1 for i in same.levels.values()), same.levels
    other = score(params, SAME, OTHER)
    assert other.probability < 0.01
    assert other.levels == {name: len(levels) - 1 for name, levels in COMPARISONS.items()}
    # Missing values are neutral: only the prior and what is present count.
    blank = score(params, SAME, _record())
    assert all(i == 0 for i in blank.levels.values())
    assert blank.probability == pytest.approx(params.prior)


def test_score_levels_for_near_matches() -> None:
    params = _parameters()
    nick = dict(SAME, first_name="BILL")
    assert score(params, SAME, nick).levels["first_name"] == 2  # same formal name
    swapped = dict(SAME, first_name="ONEIL", last_name="WILLIAM", first_formal="ONEIL")
    assert score(params, SAME, swapped).levels["first_name"] == 3
    typo = dict(SAME, dob="1970-03-05")
    assert score(params, SAME, typo).levels["dob"] == 2
    last4 = dict(SAME, ssn_hash="h9")
    assert score(params, SAME, last4).levels["ssn"] == 2
    moved = dict(SAME, address_key="1 OAK AVE")
    assert score(params, SAME, moved).levels["contact"] == 4  # same phone only
    same_zip = dict(SAME, address_key="1 OAK AVE", phone="+13145559999")
    assert score(params, SAME, same_zip).levels["contact"] == 5


def test_parameters_json_round_trip(tmp_path: Path) -> None:
    params = _parameters()
    assert Parameters.from_json(params.to_json()) == params
    params.save(tmp_path / "m" / "model.json")
    assert Parameters.from_json((tmp_path / "m" / "model.json").read_text()) == params
