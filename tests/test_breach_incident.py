"""A breach incident recorded on the case engine in the HHS portal's categories: opened
from the CLI with the JSON contract, checked (unknown categories and impossible dates are
clear errors), listed, shown, scoped only once the review is recorded, and closed."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from phiwarden.breach.categories import LOCATIONS, TYPES
from phiwarden.breach.incident import Incident, get_incident, list_incidents, open_incident
from phiwarden.cases import actions, transition
from phiwarden.cases.effects import Refused
from phiwarden.cli import app as cli_app
from phiwarden.store.setup import Stores

PO = {"actor": "pat", "role": "privacy_officer"}
MAILBOX = Incident(
    title="Phished staff mailbox",
    discovered=date(2026, 11, 20),
    type="hacking",
    location="email",
    occurred_from=date(2026, 11, 2),
    occurred_to=date(2026, 11, 19),
    description="A staff member entered their password on a phishing page.",
    safeguards="Spam filtering; annual training.",
    actions="Password reset; mailbox searched; MFA required.",
)


def test_an_incident_is_a_case_in_the_portal_categories(stores: Stores) -> None:
    assert set(TYPES.values()) == {
        "Hacking/IT Incident",
        "Unauthorized Access/Disclosure",
        "Theft",
        "Loss",
        "Improper Disposal",
        "Other",
    }
    assert len(LOCATIONS) == 8 and LOCATIONS["emr"] == "Electronic Medical Record"
    incident_id = open_incident(stores, MAILBOX, actor="pat", now=datetime(2026, 11, 21, 9))
    assert incident_id == "BR-2026-00001"
    with stores.engine.connect() as conn:
        found = get_incident(conn, incident_id)
        listed = list_incidents(conn)
    assert found is not None and found["status"] == "investigating"
    assert found["type_label"] == "Hacking/IT Incident" and found["location_label"] == "Email"
    assert found["occurred_from"] == "2026-11-02" and found["business_associate"] is False
    assert [i["incident"] for i in listed] == [incident_id]
    assert {t["key"] for t in found["case"]["tasks"]} == {"contain", "scope"}
    with pytest.raises(Refused, match="not recorded: The affected people"):
        transition.fire(stores, incident_id, "scope", revision=None, **PO)
    actions.record_fact(stores, incident_id, "scope_reviewed", "R. Reviewer", revision=None, **PO)
    assert transition.fire(stores, incident_id, "scope", revision=None, **PO)["state"] == "scoped"
    closed = transition.fire(
        stores, incident_id, "close", revision=None, inputs={"summary": "Notified."}, **PO
    )
    assert closed["state"] == "closed"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "phishing"}, "unknown breach type 'phishing': use one of hacking"),
        ({"location": "cloud"}, "unknown breach location 'cloud'"),
        ({"discovered": date(2099, 1, 1)}, "is in the future"),
        ({"occurred_to": date(2026, 11, 1)}, "cannot end before it began"),
        (
            {"occurred_from": date(2026, 11, 25), "occurred_to": None},
            "begin after it was discovered",
        ),
        ({"title": "  "}, "give the incident a title"),
    ],
)
def test_a_bad_incident_is_refused_with_the_reason(
    stores: Stores, change: dict[str, object], message: str
) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match=message):
        open_incident(stores, replace(MAILBOX, **change), actor="pat")  # type: ignore[arg-type]


def test_breach_cli_keeps_the_json_contract(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(stores.settings.data_dir))
    monkeypatch.setenv("PHIWARDEN_DATABASE_URL", stores.settings.database_url)
    runner = CliRunner()
    args = [
        "breach",
        "open",
        "--title",
        "Snooping call-center user",
        "--discovered",
        "2026-10-01",
        "--type",
        "unauthorized_access",
        "--location",
        "emr",
        "--occurred-from",
        "2026-02-01",
        "--occurred-to",
        "2026-09-30",
        "--json",
    ]
    opened = runner.invoke(cli_app, args)
    assert opened.exit_code == 0, opened.output
    incident_id = json.loads(opened.stdout)["incident"]
    assert incident_id.startswith("BR-")
    shown = json.loads(runner.invoke(cli_app, ["breach", "show", incident_id, "--json"]).stdout)
    assert shown["location_label"] == "Electronic Medical Record" and shown["history"]
    listed = json.loads(runner.invoke(cli_app, ["breach", "list", "--json"]).stdout)
    assert [i["incident"] for i in listed["incidents"]] == [incident_id]
    bad = runner.invoke(cli_app, [*args[:-1][:8], "--location", "cloud"])
    assert bad.exit_code != 0 and "unknown breach location 'cloud'" in bad.output
    missing = runner.invoke(cli_app, ["breach", "show", "BR-1900-00000"])
    assert missing.exit_code != 0 and "no incident BR-1900-00000" in missing.output
