"""The Red Flags catalogue: every flag of the rule and the program, checked as it loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from phiwarden.redflags.catalogue import (
    BY_CODE,
    CATALOGUE,
    SEVERITY_RANK,
    Detection,
    Severity,
    load_catalogue,
)
from phiwarden.redflags.catalogue_doc import render_markdown

ROOT = Path(__file__).resolve().parent.parent

FTC_CODES = [f"FTC-{n:02d}" for n in range(1, 27)]
HC_CODES = ["HC-INSURANCE", "HC-CLINICAL", "HC-COMPLAINT", "HC-WORKFORCE"]
AUTOMATIC = {
    "FTC-10",
    "FTC-11",
    "FTC-12",
    "FTC-13",
    "FTC-14",
    "FTC-15",
    "FTC-16",
    "FTC-17",
    "FTC-22",
    "FTC-23",
    *HC_CODES,
}

GOOD_FLAG = """\
[[flag]]
code = "{code}"
category = "healthcare"
title = "A flag"
detection = "automatic"
how_detected = "Something in the data."
severity = "{severity}"
action = "monitor"
action_text = "Monitor the account."
prevention = ["Monitor the account."]
resolution = ["No further response."]
source = "test"
"""


def test_every_ftc_flag_is_present_once_and_in_order() -> None:
    codes = [f.code for f in CATALOGUE]
    assert [c for c in codes if c.startswith("FTC-")] == FTC_CODES
    assert len(codes) == len(set(codes))


def test_the_healthcare_flags_are_present() -> None:
    for code in HC_CODES:
        assert code in BY_CODE
    assert len(BY_CODE) == len(FTC_CODES) + len(HC_CODES)


def test_automatic_flags_are_exactly_those_phiwarden_data_can_show() -> None:
    assert {f.code for f in CATALOGUE if f.detection is Detection.AUTOMATIC} == AUTOMATIC


def test_notice_and_attestation_flags() -> None:
    notice = {f"FTC-{n:02d}" for n in (1, 2, 3, 4, 19, 20, 21, 24, 25, 26)}
    attestation = {f"FTC-{n:02d}" for n in (5, 6, 7, 8, 9, 18)}
    assert {f.code for f in CATALOGUE if f.detection is Detection.NOTICE} == notice
    assert {f.code for f in CATALOGUE if f.detection is Detection.ATTESTATION} == attestation
    assert "card" in BY_CODE["FTC-19"].how_detected


def test_severities() -> None:
    high = {"FTC-01", "FTC-05", "FTC-06", "FTC-10", "FTC-12", "FTC-14", "FTC-26", *HC_CODES}
    high.discard("HC-WORKFORCE")
    assert high <= {f.code for f in CATALOGUE if f.severity is Severity.HIGH}
    for code in ("FTC-11", "FTC-13", "FTC-17", "FTC-22", "FTC-23", "HC-WORKFORCE"):
        assert BY_CODE[code].severity is Severity.MEDIUM, code
    for code in ("FTC-15", "FTC-16"):
        assert BY_CODE[code].severity is Severity.LOW, code
    assert SEVERITY_RANK[Severity.HIGH] > SEVERITY_RANK["medium"] > SEVERITY_RANK["low"]


def test_every_flag_says_how_it_is_detected_and_what_to_do() -> None:
    for f in CATALOGUE:
        assert f.title.strip(), f.code
        assert f.how_detected.strip(), f.code
        assert f.action_text.strip(), f.code
        assert f.source.strip(), f.code
        assert f.prevention and all(s.strip() for s in f.prevention), f.code
        assert f.resolution and all(s.strip() for s in f.resolution), f.code


def test_the_packaged_file_and_an_explicit_path_load_the_same() -> None:
    path = ROOT / "src" / "phiwarden" / "redflags" / "catalogue.toml"
    assert load_catalogue(path) == CATALOGUE


def test_a_duplicate_code_is_refused_with_its_code(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.toml"
    bad.write_text(
        GOOD_FLAG.format(code="HC-DUP", severity="high")
        + "\n"
        + GOOD_FLAG.format(code="HC-DUP", severity="low")
    )
    with pytest.raises(ValueError, match="HC-DUP"):
        load_catalogue(bad)


def test_an_unknown_severity_is_refused_with_its_code_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.toml"
    bad.write_text(GOOD_FLAG.format(code="HC-BAD", severity="urgent"))
    with pytest.raises(ValueError, match="HC-BAD") as err:
        load_catalogue(bad)
    assert "severity" in str(err.value)


def test_a_missing_field_is_refused_with_its_code_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.toml"
    bad.write_text(GOOD_FLAG.format(code="HC-GAP", severity="low").replace('source = "test"\n', ""))
    with pytest.raises(ValueError, match=r"HC-GAP.*source"):
        load_catalogue(bad)


def test_redflags_doc_is_rendered_from_the_catalogue() -> None:
    committed = (ROOT / "docs" / "redflags.md").read_text()
    assert committed == render_markdown(), (
        "docs/redflags.md is stale: run python -m phiwarden.redflags.catalogue_doc > docs/redflags.md"
    )
