"""Casework through the REST API and the CLI: a conflicting edit is a 409 naming what
changed, a refused transition a 422 with the reason, a bad upload a 422, document
downloads and case reads are audited, the billing exports are CSV for the billing system,
and ``phiwarden cases list|show|open|tick`` keep the command-line contract."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import database_url, ingest_and_scan
from phiwarden.cli import app as cli_app
from phiwarden.config import load_settings
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.setup import Stores, initialise
from phiwarden.store.web_tables import audit_log
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user, issue_token
from test_cases import image, pdf


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], Stores, dict[str, Any]]]:
    root = tmp_path_factory.mktemp(f"cases-api-{request.param}")
    with database_url(request.param, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        ingest_and_scan(stores, small_hospital)
        tokens = {}
        for role in ("privacy_officer", "investigator", "registrar", "billing", "auditor"):
            add_user(stores.engine, f"u_{role}", role, "correct horse battery")
            tokens[role] = issue_token(stores.engine, f"u_{role}")[1]
        truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
        with stores.engine.connect() as conn:
            regs = {
                t["registration_id"]: t for t in truth if t["scenario"] == "blood_type_conflict"
            }
            flag = conn.execute(
                select(red_flags.c.flag_id, red_flags.c.mrn).where(
                    red_flags.c.registration_id.in_(list(regs))
                )
            ).first()
        assert flag is not None
        info = {"flag_id": flag.flag_id, "mrn": flag.mrn, "root": root, "url": url}
        try:
            with TestClient(create_app(stores, tick_seconds=None)) as client:
                yield client, tokens, stores, info
        finally:
            stores.engine.dispose()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_procedure_through_the_api_with_its_refusals(api: Any) -> None:
    client, tokens, stores, info = api
    po, reg = _h(tokens["privacy_officer"]), _h(tokens["registrar"])
    opened = client.post(f"/api/flags/{info['flag_id']}/case", headers=reg)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    # the registrar opened it but cannot read the case or its documents
    assert client.get(f"/api/cases/{case_id}", headers=reg).status_code == 403
    screened = client.post(
        "/api/screen", headers=reg, json={"mrn": info["mrn"], "last_name": "Anyone"}
    ).json()
    assert screened["decision"] == "stop" and screened["alerts"][0]["case_id"] == case_id
    assert client.get(f"/api/patients/{info['mrn']}", headers=reg).json()["alerts"]
    case = client.get(f"/api/cases/{case_id}", headers=po).json()
    rev = case["revision"]
    assert [a["trigger"] for a in case["actions"]] == ["substantiate", "unsubstantiate", "withdraw"]
    refused = client.post(
        f"/api/cases/{case_id}/transitions/substantiate", headers=po, json={"revision": rev}
    )
    assert refused.status_code == 422 and "not uploaded: Police report" in refused.json()["detail"]
    not_mine = client.post(
        f"/api/cases/{case_id}/transitions/substantiate",
        headers=_h(tokens["investigator"]),
        json={"revision": rev},
    )
    assert not_mine.status_code == 403 and "privacy_officer may" in not_mine.json()["detail"]
    bad = client.post(
        f"/api/cases/{case_id}/documents",
        headers=po,
        data={"kind": "police_report", "revision": str(rev)},
        files={"file": ("report.pdf", b"GIF89a not really a pdf", "application/pdf")},
    )
    assert bad.status_code == 422 and "only PDF, JPEG or PNG" in bad.json()["detail"]
    for kind, name, content in (
        ("photo_id", "id.jpg", image("JPEG")),
        ("affidavit", "affidavit.pdf", pdf("Forgery affidavit")),
        ("police_report", "report.png", image("PNG")),
    ):
        up = client.post(
            f"/api/cases/{case_id}/documents",
            headers=po,
            data={"kind": kind, "revision": str(rev)},
            files={"file": (name, content, "application/octet-stream")},
        )
        assert up.status_code == 201, up.text
        rev = up.json()["revision"]
    stale = client.post(
        f"/api/cases/{case_id}/notes", headers=po, json={"revision": rev - 1, "text": "late"}
    )
    assert stale.status_code == 409
    body = stale.json()["detail"]
    assert body["revision"] == rev and body["changes"][0]["summary"].startswith("Document received")
    done = client.post(
        f"/api/cases/{case_id}/transitions/substantiate", headers=po, json={"revision": rev}
    )
    assert done.status_code == 200 and done.json()["state"] == "substantiated"
    sep = client.post(
        f"/api/cases/{case_id}/transitions/separate",
        headers=po,
        json={"revision": done.json()["revision"], "offender": "unknown"},
    )
    assert sep.status_code == 200 and sep.json()["state"] == "separated"
    case = client.get(f"/api/cases/{case_id}", headers=po).json()
    doc = case["documents"][0]
    assert (
        client.get(f"/api/cases/{case_id}/documents/{doc['document_id']}", headers=reg).status_code
        == 403
    )
    got = client.get(
        f"/api/cases/{case_id}/documents/{doc['document_id']}?copy=stamped",
        headers=_h(tokens["auditor"]),
    )
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    with stores.engine.connect() as conn:
        actions = {
            (r.action, r.object_type)
            for r in conn.execute(select(audit_log.c.action, audit_log.c.object_type))
        }
    assert {("download", "document"), ("read", "case"), ("open", "case")} <= actions
    # billing sees the adjustment and exports it as CSV
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/api/billing/adjustments?format=csv", headers=_h(tokens["billing"])
                ).text
            )
        )
    )
    assert any(r["case_id"] == case_id and r["code"] == "IDTHEFT" for r in rows)
    assert client.get("/api/billing/holds", headers=reg).status_code == 403
    tasks = client.get("/api/tasks", headers=_h(tokens["billing"])).json()["tasks"]
    assert tasks and not any("mrn" in t for t in tasks)
    assert client.get(f"/api/cases/{case_id}/referral", headers=po).json()["case_id"] == case_id


def test_intake_through_the_api(api: Any) -> None:
    client, tokens, stores, info = api
    from phiwarden.cases import theft

    opened = theft.allege(stores, victim_mrn=info["mrn"], actor="test")
    got = client.post(
        "/api/intake",
        headers=_h(tokens["registrar"]),
        json={"kind": "credit_report", "mrn": info["mrn"], "description": "entry from us"},
    )
    assert got.status_code == 201 and got.json() | {"flag_id": None} == {
        "flag_id": None,
        "case_id": opened.case_id,
        "joined": True,
    }
    unknown = client.post(
        "/api/intake", headers=_h(tokens["registrar"]), json={"kind": "x", "mrn": info["mrn"]}
    )
    assert unknown.status_code == 422


def test_cases_cli_keeps_the_json_contract(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _client, _tokens, stores, info = api
    from phiwarden.cases import theft

    theft.allege(stores, victim_mrn=info["mrn"], actor="test")  # opened, or the open one
    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(info["root"] / "data"))
    monkeypatch.setenv("PHIWARDEN_DATABASE_URL", info["url"])
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["cases", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    cases = json.loads(listed.stdout)["cases"]
    assert cases and set(cases[0]) == {"id", "type", "state", "subjects", "assignee", "due"}
    shown = runner.invoke(cli_app, ["cases", "show", cases[0]["id"], "--json"])
    body = json.loads(shown.stdout)
    assert {"history", "tasks", "documents"} <= set(body)
    assert body["history"][0]["kind"] == "opened", "oldest first"
    ticked = runner.invoke(cli_app, ["cases", "tick", "--json", "--at", "2030-01-01T00:00"])
    assert ticked.exit_code == 0 and set(json.loads(ticked.stdout)) >= {"fired", "sent"}
    missing = runner.invoke(cli_app, ["cases", "show", "IT-1900-00000"])
    assert missing.exit_code != 0 and "no case IT-1900-00000" in missing.output
    opened = runner.invoke(cli_app, ["cases", "open", "--mrn", "NO-SUCH-MRN"])
    assert opened.exit_code != 0 and "no patient with MRN NO-SUCH-MRN" in opened.output
    # the victim's open case stops registration at 'redflags screen' too
    registration = info["root"] / "registration.json"
    registration.write_text(json.dumps({"mrn": info["mrn"], "last_name": "Anyone"}))
    screened = runner.invoke(cli_app, ["redflags", "screen", str(registration), "--json"])
    answer = json.loads(screened.stdout)
    assert answer["decision"] == "stop"
    assert answer["alerts"][0]["text"] == "Alleged identity theft - positive ID required"
    text = runner.invoke(cli_app, ["redflags", "screen", str(registration)])
    assert "ALERT on MRN" in text.output
