"""The breach decision and what the law then requires, one test per provision cited:
the presumption and the four factors (45 CFR 164.402(2)), the exclusions (164.402(1)(i)-
(iii)) and the encryption safe harbour, groups decided apart, the individuals' 60 days
(164.404(b)), HHS at once or in the annual log (164.408(b), (c)), media over 500 residents
of a state (164.406), substitute notice (164.404(d)(2)), next of kin (164.404(d)(1)(ii)),
a law-enforcement delay (164.412), and the states' files (TX, CA, NY, IL, MO) with the
schema every file must fit; then the CLI and the HHS report on the test hospital."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import ingest_and_scan
from phiwarden.breach.decision import Assessment, Decision, Group, decide, outcome_for
from phiwarden.breach.incident import Incident, get_incident, open_incident
from phiwarden.breach.law import JURISDICTIONS, all_states, hipaa_rule, state_law
from phiwarden.breach.obligations import Notified, as_json, business_days, plan
from phiwarden.breach.scan import scan_paths
from phiwarden.cases.effects import Refused
from phiwarden.cases.engine import Forbidden
from phiwarden.cli import app as cli_app
from phiwarden.store.setup import Stores
from phiwarden.synth.mailbox import write_mailbox

DISCOVERED = date(2026, 3, 2)
FULL = Assessment(
    nature_extent="names and MRNs only; no SSN, financial or clinical data",
    recipient="known_bound_by_hipaa",
    recipient_note="sent by mistake to another covered entity's privacy office",
    acquired_or_viewed="no",
    forensics="the recipient confirmed in writing that the file was deleted unopened",
    mitigation="full",
    mitigation_note="written attestation of destruction received 2026-03-03",
    low_probability=True,
)


def _people(
    counts: dict[str, int], elements: tuple[str, ...] = ("name", "ssn", "clinical"), **extra: int
) -> Notified:
    """Notified people by state, each with the same exposed elements."""
    people = Notified(**extra)
    for code, n in counts.items():
        people.by_state[code] = [{"elements": list(elements)} for _ in range(n)]
    return people


def _kinds(items: list[Any]) -> dict[tuple[str, str], Any]:
    return {(o.kind, o.jurisdiction): o for o in items}


def _details(**extra: Any) -> dict[str, Any]:
    return {"discovered": DISCOVERED.isoformat(), **extra}


# --- 45 CFR 164.402: the decision ---------------------------------------------------------


def _incident(stores: Stores) -> str:
    return open_incident(
        stores,
        Incident(
            title="Misdirected fax",
            discovered=DISCOVERED,
            type="unauthorized_access",
            location="paper",
        ),
        actor="pat",
        now=datetime(2026, 3, 3, 9),
    )


def test_164_402_2_a_breach_is_presumed_unless_four_factors_show_low_probability(
    stores: Stores,
) -> None:
    incident = _incident(stores)
    with pytest.raises(Refused, match="presumed"):
        decide(
            stores,
            incident,
            Decision(outcome="not-breach", reason="small"),
            actor="pat",
            role="privacy_officer",
        )
    gaps = Assessment(nature_extent="names", low_probability=True)
    with pytest.raises(Refused, match="factor 2"):
        decide(
            stores,
            incident,
            Decision(outcome="not-breach", reason="x", assessment=gaps),
            actor="pat",
            role="privacy_officer",
        )
    unsure = FULL.model_copy(update={"low_probability": False})
    with pytest.raises(Refused, match="does not conclude a low probability"):
        decide(
            stores,
            incident,
            Decision(outcome="not-breach", reason="x", assessment=unsure),
            actor="pat",
            role="privacy_officer",
        )
    with pytest.raises(Forbidden):
        decide(
            stores,
            incident,
            Decision(outcome="breach", reason="x"),
            actor="ivy",
            role="investigator",
        )
    record = decide(
        stores,
        incident,
        Decision(outcome="not-breach", reason="returned unopened", assessment=FULL),
        actor="pat",
        role="privacy_officer",
        elements={"name", "mrn"},
    )
    assert record["cites"]["burden_of_proof"] == "45 CFR 164.414(b)" and record["warnings"] == []
    with stores.engine.connect() as conn:
        case = get_incident(conn, incident)["case"]  # type: ignore[index]
    assert case["details"]["decision"]["outcome"] == "not-breach"
    assert any(e["kind"] == "decision" and "not-breach" in e["summary"] for e in case["history"])


def test_164_402_1_the_exclusions_and_the_encryption_safe_harbour(stores: Stores) -> None:
    incident = _incident(stores)
    with pytest.raises(Refused, match="which exclusion"):
        decide(
            stores,
            incident,
            Decision(outcome="excluded", reason="x"),
            actor="pat",
            role="privacy_officer",
        )
    with pytest.raises(ValueError, match="unknown exclusion"):
        Decision(outcome="excluded", reason="x", exclusion="not_a_rule")
    for exclusion in (
        "encryption",
        "workforce_good_faith",
        "inadvertent_internal",
        "could_not_retain",
    ):
        record = decide(
            stores,
            incident,
            Decision(outcome="excluded", reason="laptop encrypted", exclusion=exclusion),
            actor="pat",
            role="privacy_officer",
        )
        assert record["cites"]["exclusion"].startswith("45 CFR 164.402")
    with stores.engine.connect() as conn:
        details = get_incident(conn, incident)["case"]["details"]  # type: ignore[index]
    assert len(details["decisions"]) == 3, "earlier decisions are kept"


def test_groups_are_decided_apart_name_and_mrn_only_against_ssn() -> None:
    decision = Decision(
        outcome="breach",
        reason="SSNs were in the mailbox",
        groups=[
            Group(
                name="name and MRN only",
                only=["name", "mrn"],
                outcome="not-breach",
                reason="low",
                assessment=FULL,
            )
        ],
    ).model_dump()
    assert outcome_for(decision, {"name", "mrn"}) == ("not-breach", "name and MRN only")
    assert outcome_for(decision, {"name", "mrn", "ssn"}) == ("breach", "everyone else")


# --- HIPAA obligations ------------------------------------------------------------------


def test_164_404_b_individuals_within_60_days_of_discovery() -> None:
    items = _kinds(plan(_details(), _people({"KS": 3})))
    assert items[("individuals", "US")].due == date(2026, 5, 1)
    assert items[("individuals", "US")].cite == "45 CFR 164.404(b)"


def test_164_408_hhs_at_once_from_500_else_the_annual_log() -> None:
    at_once = _kinds(plan(_details(), _people({"KS": 250, "OK": 250})))
    assert (
        at_once[("hhs", "US")].due == date(2026, 5, 1) and ("hhs_annual_log", "US") not in at_once
    )
    log = _kinds(plan(_details(), _people({"KS": 499})))
    assert log[("hhs_annual_log", "US")].due == date(2027, 3, 1), "60 days after 31 December"
    leap = _kinds(plan({"discovered": "2027-06-01"}, _people({"KS": 2})))
    assert leap[("hhs_annual_log", "US")].due == date(2028, 2, 29)


def test_164_406_media_for_more_than_500_residents_of_a_state() -> None:
    items = _kinds(plan(_details(), _people({"OK": 501, "KS": 500})))
    assert ("media", "OK") in items and ("media", "KS") not in items
    assert items[("media", "OK")].cite == "45 CFR 164.406"


def test_164_404_d_2_substitute_notice_below_and_from_10() -> None:
    few = _kinds(plan(_details(), _people({"KS": 20}, insufficient_address=9)))
    many = _kinds(plan(_details(), _people({"KS": 20}, insufficient_address=10)))
    assert "telephone" in few[("substitute_notice", "US")].title
    assert "90 days" in many[("substitute_notice", "US")].title
    assert many[("substitute_notice", "US")].people == 10


def test_164_404_d_1_ii_next_of_kin_for_the_deceased() -> None:
    items = _kinds(plan(_details(), _people({"KS": 5}, deceased=2)))
    assert items[("next_of_kin", "US")].people == 2


def test_164_412_law_enforcement_delay_written_and_oral() -> None:
    written = _kinds(
        plan(
            _details(law_enforcement_delay={"kind": "written", "until": "2026-04-01"}),
            _people({"KS": 3}),
        )
    )
    assert written[("individuals", "US")].due == date(2026, 5, 31)
    assert "written request" in written[("individuals", "US")].notes[0]
    oral = _kinds(
        plan(_details(law_enforcement_delay={"kind": "oral", "days": 45}), _people({"KS": 3}))
    )
    assert oral[("individuals", "US")].due == date(2026, 5, 31), (
        "an oral request delays 30 days at most"
    )


# --- states ------------------------------------------------------------------------------


def test_texas_attorney_general_from_250_within_30_days_and_agencies_over_10000() -> None:
    items = _kinds(plan(_details(), _people({"TX": 250})))
    assert items[("attorney_general", "TX")].due == date(2026, 4, 1)
    assert items[("individuals", "TX")].due == date(2026, 5, 1)
    assert ("consumer_reporting_agencies", "TX") not in items
    assert ("attorney_general", "TX") not in _kinds(plan(_details(), _people({"TX": 249})))
    big = _kinds(plan(_details(), _people({"TX": 10_001})))
    assert ("consumer_reporting_agencies", "TX") in big and ("media", "TX") in big


def test_california_30_days_and_the_attorney_general_15_days_after_the_letters() -> None:
    items = _kinds(plan(_details(), _people({"CA": 501})))
    assert items[("individuals", "CA")].due == date(2026, 4, 1)
    assert items[("attorney_general", "CA")].due == date(2026, 4, 16)
    assert ("attorney_general", "CA") not in _kinds(plan(_details(), _people({"CA": 500})))


def test_illinois_and_new_york_tell_the_attorney_general_5_business_days_after_hhs() -> None:
    items = _kinds(plan(_details(), _people({"IL": 300, "NY": 300})))
    hhs = items[("hhs", "US")].due
    assert items[("attorney_general", "IL-HIPAA")].due == business_days(hhs, 5)
    assert items[("attorney_general", "NY-HIPAA")].due == business_days(hhs, 5)
    assert business_days(date(2026, 5, 1), 5) == date(2026, 5, 8)  # a Friday: skips the weekend


def test_missouri_attorney_general_and_agencies_over_1000_only_if_its_law_covers_the_data() -> None:
    items = _kinds(plan(_details(), _people({"MO": 1001})))
    assert ("attorney_general", "MO") in items and ("consumer_reporting_agencies", "MO") in items
    assert ("attorney_general", "MO") not in _kinds(plan(_details(), _people({"MO": 1000})))
    names_only = _kinds(plan(_details(), _people({"MO": 1001, "GA": 5}, elements=("name", "mrn"))))
    assert ("individuals", "MO") not in names_only, (
        "a name and an MRN are not personal information in MO"
    )
    assert ("individuals", "US") in names_only, "HIPAA still applies"
    assert state_law("MO").covers({"name", "clinical"}) and not state_law("GA").covers(
        {"name", "clinical"}
    )


def test_every_jurisdiction_has_a_file_that_fits_the_schema_with_a_citation_per_field() -> None:
    states = all_states()
    assert set(states) == set(JURISDICTIONS) and len(states) == 52
    for code, law in states.items():
        assert law.statute and law.triggers.cite and law.individuals.cite, code
        assert law.triggers.elements, code
        for section in (
            law.regulator,
            law.agencies,
            law.hipaa,
            law.letter,
            law.credit_monitoring,
            law.substitute,
        ):
            assert section is None or len(section.cite) > 3, code
    complete = {c for c, law in states.items() if law.complete}
    assert complete == {"TX", "CA", "NY", "FL", "MO", "IL"}
    for code in complete:
        law = states[code]
        assert None not in (
            law.regulator,
            law.hipaa,
            law.letter,
            law.credit_monitoring,
            law.substitute,
        ), code
    assert states["CA"].letter and states["CA"].letter.headings[0] == "Notice of Data Breach"
    assert hipaa_rule().verified and hipaa_rule().individuals["deadline_days"] == 60


def test_a_hospitals_own_rules_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    own = tmp_path / "rules" / "states"
    own.mkdir(parents=True)
    text = (Path(__file__).parent.parent / "src/phiwarden/breach/rules/states/TX.toml").read_text()
    (own / "TX.toml").write_text(text.replace("threshold = 250", "threshold = 100"))
    assert state_law("TX", tmp_path).regulator.threshold == 100  # type: ignore[union-attr]
    (own / "TX.toml").write_text(text.replace('elements = ["ssn"', 'elements = ["blood_type"'))
    with pytest.raises(ValueError, match=r"TX\.toml"):
        state_law("TX", tmp_path)


# --- the store, the CLI and the HHS report -----------------------------------------------


def test_the_cli_decides_and_lists_obligations_on_the_test_hospital(
    stores: Stores, small_hospital: Path, tmp_path: Path
) -> None:
    ingest_and_scan(stores, small_hospital)
    write_mailbox(small_hospital / "canonical", tmp_path, seed=11)
    incident = _incident(stores)
    scan_paths(stores, incident, [tmp_path / "compromised.mbox"], actor="pat", workers=1)
    runner = CliRunner()
    base = [
        "--data-dir",
        str(stores.settings.data_dir),
        "--database-url",
        stores.settings.database_url,
    ]
    early = runner.invoke(cli_app, [*base, "breach", "obligations", incident, "--json"])
    assert early.exit_code == 1 and "no breach decision yet" in early.output
    bad_day = runner.invoke(
        cli_app, [*base, "breach", "obligations", incident, "--today", "2026-13-01"]
    )
    assert bad_day.exit_code == 1 and "--today is YYYY-MM-DD" in bad_day.output
    factors = tmp_path / "factors.toml"
    factors.write_text(
        '[[groups]]\nname = "name and MRN only"\nonly = ["name", "mrn"]\noutcome = "not-breach"\n'
        'reason = "no other identifier"\n[groups.assessment]\nnature_extent = "names and MRNs"\n'
        'recipient = "unknown"\nrecipient_note = "attacker"\nacquired_or_viewed = "unknown"\n'
        'forensics = "mailbox logs"\nmitigation = "partial"\nmitigation_note = "password reset"\n'
        "low_probability = true\n"
    )
    decided = runner.invoke(
        cli_app,
        [
            *base,
            "breach",
            "decide",
            incident,
            "--outcome",
            "breach",
            "--reason",
            "phished",
            "--factors",
            str(factors),
            "--json",
        ],
    )
    assert decided.exit_code == 0, decided.output
    body = json.loads(
        runner.invoke(
            cli_app, [*base, "breach", "obligations", incident, "--today", "2026-03-10", "--json"]
        ).stdout
    )
    kinds = {o["kind"] for o in body["obligations"]}
    assert {"individuals", "hhs_annual_log"} <= kinds
    assert all(
        {"kind", "jurisdiction", "due", "status", "people"} <= set(o) for o in body["obligations"]
    )
    us = next(
        o for o in body["obligations"] if (o["kind"], o["jurisdiction"]) == ("individuals", "US")
    )
    assert us["due"] == "2026-05-01" and us["status"] == "pending"
    assert (
        body["not_notified"] >= 0
        and sum(body["by_state"].values()) + body["unknown_residence"] == us["people"]
    )
    done = runner.invoke(
        cli_app, [*base, "breach", "done", incident, "hhs_annual_log:US", "--note", "logged"]
    )
    assert done.exit_code == 0, done.output
    after = json.loads(
        runner.invoke(cli_app, [*base, "breach", "obligations", incident, "--json"]).stdout
    )
    assert (
        next(o for o in after["obligations"] if o["kind"] == "hhs_annual_log")["status"] == "done"
    )
    late = json.loads(
        runner.invoke(
            cli_app, [*base, "breach", "obligations", incident, "--today", "2026-06-01", "--json"]
        ).stdout
    )
    assert (
        next(
            o
            for o in late["obligations"]
            if (o["kind"], o["jurisdiction"]) == ("individuals", "US")
        )["status"]
        == "overdue"
    )
    hhs = json.loads(runner.invoke(cli_app, [*base, "breach", "hhs", incident, "--json"]).stdout)
    assert (
        hhs["individuals_affected"] == us["people"]
        and hhs["type_of_breach"] == "Unauthorized Access/Disclosure"
    )
    assert hhs["location_of_breached_information"] == "Paper/Films" and hhs["filing"].startswith(
        "annual log"
    )
    assert "Demographic" in hhs["type_of_phi"] and hhs["discovery_date"] == DISCOVERED.isoformat()
    log = json.loads(
        runner.invoke(cli_app, [*base, "breach", "log", "--year", "2026", "--json"]).stdout
    )
    assert log["due"] == "2027-03-01" and [b["incident"] for b in log["breaches"]] == [incident]
    refused = runner.invoke(cli_app, [*base, "breach", "delay", incident, "--oral-days", "45"])
    assert refused.exit_code == 1 and "name the agency" in refused.output
    delayed = runner.invoke(
        cli_app,
        [
            *base,
            "breach",
            "delay",
            incident,
            "--oral-days",
            "45",
            "--agency",
            "County police, Det. Ruiz",
        ],
    )
    assert delayed.exit_code == 0, delayed.output
    moved = json.loads(
        runner.invoke(cli_app, [*base, "breach", "obligations", incident, "--json"]).stdout
    )
    us_now = next(
        o for o in moved["obligations"] if (o["kind"], o["jurisdiction"]) == ("individuals", "US")
    )
    assert us_now["due"] == "2026-05-31" and "oral request" in us_now["notes"][0], (
        "164.412(b): 30 days at most"
    )
    notices = runner.invoke(
        cli_app, [*base, "breach", "notices", incident, "--out", str(tmp_path / "n")]
    )
    assert notices.exit_code == 0 and "notice(s) drafted" in notices.output


def test_as_json_marks_overdue_and_done() -> None:
    items = plan(_details(), _people({"KS": 3}))
    rows = as_json(
        items, date(2026, 6, 1), {"hhs_annual_log:US": {"by": "pat", "at": "x", "note": "y"}}
    )
    status = {(r["kind"], r["jurisdiction"]): r["status"] for r in rows}
    assert status[("individuals", "US")] == "overdue" and status[("hhs_annual_log", "US")] == "done"
