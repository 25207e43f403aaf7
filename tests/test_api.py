"""The REST API in-process (httpx through Starlette's TestClient): every route against
every role, bearer tokens, the audit trail of reads and decisions, SSN masking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from conftest import analyse, database_url
from phiwarden.config import load_settings
from phiwarden.monitor import queue as review_queue
from phiwarden.store.setup import Stores, initialise
from phiwarden.store.web_tables import audit_log
from phiwarden.web.api.alerts import Sort
from phiwarden.web.app import create_app
from phiwarden.web.audit import verify
from phiwarden.web.roles import MATRIX, Permission, Role
from phiwarden.web.users import add_user, issue_token, revoke_token

PASSWORD = "correct horse battery"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str], Stores]]:
    """The small hospital monitored, linked and scanned, a user and token per role;
    shared by the module's tests (which only add decisions, resolutions and entries)."""
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    with database_url(request.param, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        analyse(stores, small_hospital)
        tokens = {}
        for role in Role:
            add_user(stores.engine, f"u_{role.value}", role.value, PASSWORD)
            tokens[role.value] = issue_token(stores.engine, f"u_{role.value}")[1]
        try:
            with TestClient(create_app(stores)) as client:
                yield client, tokens, stores
        finally:
            stores.engine.dispose()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ids(stores: Stores) -> dict[str, str]:
    from phiwarden.store.redflag_tables import red_flags
    from phiwarden.store.repositories import domain_table

    with stores.engine.connect() as conn:
        alert = review_queue.list_alerts(conn, limit=1)[0]
        flag = conn.execute(select(red_flags.c.flag_id).limit(1)).scalar_one()
        mrn = conn.execute(select(domain_table("patients").c.mrn).limit(1)).scalar_one()
    return {
        "alert_id": alert["alert_id"],
        "case_id": alert["case_id"],
        "user_id": alert["user_id"],
        "flag_id": flag,
        "mrn": mrn,
    }


_PHONES = iter(range(1000, 9999))


def _calls(ids: dict[str, str]) -> list[tuple[str, str, Permission, dict[str, Any] | None]]:
    """(method, url, permission, json body) for every API route."""
    return [
        ("GET", "/api/status", Permission.STATUS, None),
        ("GET", "/api/alerts", Permission.ALERTS_READ, None),
        ("GET", f"/api/alerts/{ids['alert_id']}", Permission.ALERTS_READ, None),
        (
            "POST",
            f"/api/alerts/{ids['alert_id']}/decision",
            Permission.ALERTS_DECIDE,
            {"decision": "needs_investigation", "note": "checking"},
        ),
        ("GET", f"/api/cases/{ids['case_id']}", Permission.CASES_READ, None),
        ("GET", "/api/flags", Permission.FLAGS_READ, None),
        ("GET", f"/api/flags/{ids['flag_id']}", Permission.FLAGS_READ, None),
        (
            "POST",
            f"/api/flags/{ids['flag_id']}/resolve",
            Permission.FLAGS_RESOLVE,
            {"status": "resolved", "note": "verified by phone"},
        ),
        (
            "POST",
            "/api/screen",
            Permission.SCREEN,
            {"first_name": "Pat", "last_name": "Doe", "dob": "1980-01-02", "ssn": "078-05-1120"},
        ),
        ("GET", f"/api/patients/{ids['mrn']}", Permission.PATIENTS_READ, None),
        (
            "POST",
            f"/api/patients/{ids['mrn']}/ssn",
            Permission.SSN_REVEAL,
            {"reason": "identity theft investigation RF-1"},
        ),
        (
            "GET",
            f"/api/workforce/{ids['user_id']}/accesses?since=2020-01-01&until=2030-01-01",
            Permission.WORKFORCE_READ,
            None,
        ),
        ("GET", "/api/watch", Permission.WATCH_READ, None),
        (
            "POST",
            "/api/watch",
            Permission.WATCH_EDIT,
            {"kind": "phone", "value": f"(907) 555-{next(_PHONES):04d}", "reason": "test"},
        ),
        ("DELETE", "/api/watch/FW9999", Permission.WATCH_EDIT, None),
        ("GET", "/api/cases?type=identity_theft", Permission.CASES_READ, None),
        ("POST", "/api/cases", Permission.CASES_OPEN, {"victim_mrn": ids["mrn"]}),
        ("POST", f"/api/flags/{ids['flag_id']}/case", Permission.CASES_OPEN, None),
        (
            "POST",
            "/api/intake",
            Permission.CASES_OPEN,
            {"kind": "eob", "mrn": ids["mrn"], "description": "EOB for a visit never made"},
        ),
        (
            "POST",
            f"/api/cases/{NO_CASE}/transitions/substantiate",
            Permission.CASES_WORK,
            {"revision": 1},
        ),
        ("POST", f"/api/cases/{NO_CASE}/notes", Permission.CASES_WORK, {"text": "called"}),
        ("POST", f"/api/cases/{NO_CASE}/assignee", Permission.CASES_WORK, {"assignee": "po"}),
        (
            "POST",
            f"/api/cases/{NO_CASE}/facts/counsel_consulted",
            Permission.CASES_WORK,
            {"value": "J. Smith"},
        ),
        (
            "POST",
            f"/api/cases/{NO_CASE}/timers/resume_billing",
            Permission.CASES_WORK,
            {"days": 10, "reason": "committee"},
        ),
        (
            "POST",
            f"/api/cases/{NO_CASE}/documents",
            Permission.CASES_WORK,
            {"__form__": {"kind": "photo_id"}, "__files__": {"file": ("id.png", PNG, "image/png")}},
        ),
        ("GET", f"/api/cases/{NO_CASE}/documents/1", Permission.DOCUMENTS_READ, None),
        ("POST", f"/api/cases/{NO_CASE}/tasks/1/signoff", Permission.TASKS_SIGN, {}),
        ("GET", "/api/tasks", Permission.TASKS_SIGN, None),
        ("GET", f"/api/cases/{NO_CASE}/referral", Permission.REFERRAL, None),
        ("GET", "/api/billing/holds?format=csv", Permission.BILLING_READ, None),
        ("POST", "/api/billing/refunds/999999/refunded", Permission.BILLING_EDIT, None),
        ("GET", "/api/incidents", Permission.BREACH_READ, None),
        (
            "POST",
            "/api/incidents",
            Permission.BREACH_OPEN,
            {
                "title": "Lost laptop",
                "discovered": "2026-11-20",
                "type": "loss",
                "location": "laptop",
            },
        ),
        ("GET", f"/api/incidents/{NO_INCIDENT}", Permission.BREACH_READ, None),
        (
            "POST",
            f"/api/incidents/{NO_INCIDENT}/scans",
            Permission.BREACH_SCAN,
            {"paths": ["mailbox.mbox"]},
        ),
        ("GET", f"/api/incidents/{NO_INCIDENT}/people", Permission.BREACH_READ, None),
        ("GET", f"/api/incidents/{NO_INCIDENT}/people/P1", Permission.BREACH_READ, None),
        (
            "POST",
            f"/api/incidents/{NO_INCIDENT}/reviews",
            Permission.BREACH_REVIEW,
            {"target": "person", "ref": "P1", "decision": "confirmed"},
        ),
        (
            "POST",
            f"/api/incidents/{NO_INCIDENT}/decision",
            Permission.BREACH_DECIDE,
            {"outcome": "breach", "reason": "phished"},
        ),
        ("GET", f"/api/incidents/{NO_INCIDENT}/obligations", Permission.BREACH_READ, None),
        (
            "POST",
            f"/api/incidents/{NO_INCIDENT}/obligations/hhs:US/done",
            Permission.BREACH_NOTIFY,
            {"note": "filed"},
        ),
        ("POST", f"/api/incidents/{NO_INCIDENT}/letters", Permission.BREACH_NOTIFY, {}),
        ("GET", f"/api/incidents/{NO_INCIDENT}/letters/AAAA-BBBB", Permission.BREACH_READ, None),
        ("GET", f"/api/incidents/{NO_INCIDENT}/hhs", Permission.BREACH_READ, None),
        ("POST", "/api/letters/AAAA-BBBB/returned", Permission.BREACH_NOTIFY, None),
        (
            "POST",
            "/api/letters/AAAA-BBBB/address",
            Permission.LOOKUP,
            {"address": "1 Main St, Springfield, MO 65801"},
        ),
        ("POST", "/api/lookup", Permission.LOOKUP, {"reference": "AAAA-BBBB"}),
        ("GET", "/api/investigations", Permission.CASES_READ, None),
        (
            "POST",
            "/api/investigations",
            Permission.INVESTIGATION_OPEN,
            {
                "user_id": ids["user_id"],
                "complaint": "a patient complained",
                "since": "2020-01-01",
                "until": "2030-01-01",
            },
        ),
        ("GET", f"/api/investigations/{NO_CASE}/evidence", Permission.DOCUMENTS_READ, None),
        (
            "POST",
            f"/api/investigations/{NO_CASE}/finding",
            Permission.INVESTIGATION_WORK,
            {"finding": "no reason found"},
        ),
        (
            "POST",
            f"/api/investigations/{NO_CASE}/determination",
            Permission.INVESTIGATION_DETERMINE,
            {"outcome": "violation", "level": 1, "reason": "curiosity"},
        ),
        (
            "POST",
            f"/api/investigations/{NO_CASE}/breach-decision",
            Permission.INVESTIGATION_DETERMINE,
            {"outcome": "breach", "reason": "viewed"},
        ),
        (
            "POST",
            f"/api/investigations/{NO_CASE}/referrals",
            Permission.INVESTIGATION_DETERMINE,
            {"to": "ocr", "on": "2026-01-02"},
        ),
        ("GET", f"/api/workforce/{ids['user_id']}/investigations", Permission.ALERTS_READ, None),
        ("GET", "/api/sanctions", Permission.SANCTIONS_READ, None),
        (
            "POST",
            f"/api/cases/{NO_CASE}/corrective-actions",
            Permission.CORRECTIVE_EDIT,
            {"title": "extra identifier", "owner": "call centre", "due_on": "2099-01-01"},
        ),
        ("POST", "/api/corrective-actions/999999/done", Permission.CORRECTIVE_EDIT, {}),
        (
            "POST",
            "/api/corrective-actions/999999/verify",
            Permission.CORRECTIVE_EDIT,
            {"note": "ok"},
        ),
        (
            "POST",
            "/api/callers/verify",
            Permission.CALLER_VERIFY,
            {"mrn": ids["mrn"], "first_name": "A", "last_name": "B", "dob": "1990-01-01"},
        ),
        ("GET", "/api/program/dashboard", Permission.PROGRAM_READ, None),
        ("GET", "/api/program/training", Permission.PROGRAM_READ, None),
        (
            "POST",
            "/api/program/training",
            Permission.PROGRAM_EDIT,
            {
                "__form__": {},
                "__files__": {"file": ("lms.csv", b"user_id,course,completed_on\n", "text/csv")},
            },
        ),
        ("GET", "/api/program/providers", Permission.PROGRAM_READ, None),
        (
            "POST",
            "/api/program/providers",
            Permission.PROGRAM_EDIT,
            {
                "__form__": {},
                "__files__": {"file": ("v.csv", b"name,service\nShred Co,paper\n", "text/csv")},
            },
        ),
        ("GET", "/api/program/log", Permission.PROGRAM_READ, None),
        (
            "POST",
            "/api/program/approvals",
            Permission.PROGRAM_EDIT,
            {"subject": "procedure:nosuch", "approved_by": "board", "approved_on": "2026-01-01"},
        ),
        ("GET", "/api/program/report?format=html", Permission.PROGRAM_READ, None),
    ]


#: a case number no test opens: the changing routes answer 404 to those allowed to call them
NO_CASE = "IT-1900-00000"
NO_INCIDENT = "BR-1900-00000"
#: the smallest PNG (1x1)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _send(client: TestClient, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
    if isinstance(body, dict) and "__files__" in body:
        return client.request(
            method, url, headers=headers, data=body["__form__"], files=body["__files__"]
        )
    return client.request(method, url, headers=headers, json=body)


def test_every_api_route_declares_a_permission_and_is_covered(world: Any) -> None:
    from phiwarden.web.api import PREFIX, ROUTERS

    _client, _tokens, stores = world
    declared = {}
    for sub in ROUTERS:
        for route in sub.routes:
            assert isinstance(route, APIRoute)
            perms = [getattr(d.call, "permission", None) for d in route.dependant.dependencies]
            perms = [p for p in perms if p is not None]
            assert len(perms) == 1, f"{route.path} declares no permission"
            for method in route.methods:
                declared[(method, PREFIX + route.path)] = perms[0]
    calls = _calls(_ids(stores))
    assert len({(m, u) for m, u, _p, _b in calls}) == len(declared), "a route is untested"
    for method, url, permission, _body in calls:
        path = url.split("?")[0]
        match = [
            p
            for (m, template), p in declared.items()
            if m == method
            and len(template.split("/")) == len(path.split("/"))
            and all(
                a == b or a.startswith("{")
                for a, b in zip(template.split("/"), path.split("/"), strict=True)
            )
        ]
        assert match == [permission], (method, url)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_against_every_route(world: Any, role: str) -> None:
    client, tokens, stores = world
    for method, url, permission, body in _calls(_ids(stores)):
        got = _send(client, method, url, _h(tokens[role]), body)
        if Role(role) in MATRIX[permission]:
            assert got.status_code in (200, 201, 404), (role, method, url, got.text)
        else:
            assert got.status_code == 403, (role, method, url, got.status_code)


def test_no_or_revoked_token_is_401(world: Any) -> None:
    client, _tokens, stores = world
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/api/alerts", headers=_h("pw_nonsense")).status_code == 401
    token_id, token = issue_token(stores.engine, "u_investigator")
    assert client.get("/api/alerts", headers=_h(token)).status_code == 200
    revoke_token(stores.engine, token_id)
    assert client.get("/api/alerts", headers=_h(token)).status_code == 401


def test_alert_queue_sorts_pages_and_counts_a_users_alerts(world: Any) -> None:
    client, tokens, stores = world
    assert set(get_args(Sort)) == set(review_queue.ALERT_ORDERS)
    with stores.engine.connect() as conn:
        by_user = [a["alert_id"] for a in review_queue.list_alerts(conn, sort="user", limit=500)]
    got = client.get("/api/alerts?sort=user&limit=500", headers=_h(tokens["auditor"])).json()
    assert [a["alert_id"] for a in got["alerts"]] == by_user and got["sort"] == "user"
    user = got["alerts"][0]["user_id"]
    mine = client.get(f"/api/alerts?user_id={user}", headers=_h(tokens["auditor"])).json()
    assert mine["total"] == len(mine["alerts"]) == sum(a["user_id"] == user for a in got["alerts"])
    bad = client.get("/api/alerts?sort=size", headers=_h(tokens["auditor"]))
    assert bad.status_code == 422


def test_an_offset_past_64_bits_is_a_422_not_a_500(world: Any) -> None:
    # found by the schemathesis run: SQLite raised OverflowError on the bound offset
    client, tokens, _stores = world
    for path in ("/api/flags", "/api/alerts"):
        got = client.get(f"{path}?offset={2**63}", headers=_h(tokens["auditor"]))
        assert got.status_code == 422, (path, got.status_code)
    # found by the same run: a corrective action's number past 64 bits
    for step in ("done", "verify"):
        got = client.post(
            f"/api/corrective-actions/{2**63}/{step}",
            headers=_h(tokens["privacy_officer"]),
            json={"note": "x"},
        )
        assert got.status_code == 422, (step, got.status_code)


def test_reads_and_decisions_are_audited(world: Any) -> None:
    client, tokens, stores = world
    ids = _ids(stores)
    assert (
        client.get(f"/api/alerts/{ids['alert_id']}", headers=_h(tokens["investigator"])).status_code
        == 200
    )
    decided = client.post(
        f"/api/alerts/{ids['alert_id']}/decision",
        headers=_h(tokens["investigator"]),
        json={"decision": "violation", "note": "confirmed"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "violation"
    with stores.engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    actions = [(r["actor"], r["action"], r["object_type"], r["object_id"]) for r in rows]
    assert ("u_investigator", "read", "alert", ids["alert_id"]) in actions
    assert ("u_investigator", "decide", "alert", ids["alert_id"]) in actions
    assert all(r["source"] for r in rows)
    assert verify(stores.engine).ok


def test_patient_view_masks_the_ssn_and_reveal_is_logged(world: Any) -> None:
    client, tokens, stores = world
    mrn = _ids(stores)["mrn"]
    view = client.get(f"/api/patients/{mrn}", headers=_h(tokens["registrar"])).json()
    assert view["ssn"].startswith("***-**-") or view["ssn"] == ""
    assert "ssn_encrypted" not in view and "ssn_hash" not in view
    short = client.post(
        f"/api/patients/{mrn}/ssn", headers=_h(tokens["privacy_officer"]), json={"reason": "why"}
    )
    assert short.status_code == 422
    shown = client.post(
        f"/api/patients/{mrn}/ssn",
        headers=_h(tokens["privacy_officer"]),
        json={"reason": "identity theft investigation RF-7"},
    )
    assert shown.status_code == 200
    with stores.engine.connect() as conn:
        last = (
            conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1))
            .mappings()
            .one()
        )
    assert last["action"] == "reveal_ssn" and last["detail"]["reason"].startswith("identity theft")
    assert shown.json()["ssn"] not in str(last["detail"])


def test_screen_endpoint_answers_with_flags(world: Any) -> None:
    client, tokens, _stores = world
    answer = client.post(
        "/api/screen",
        headers=_h(tokens["registrar"]),
        json={"first_name": "Pat", "last_name": "Doe", "dob": "1980-01-02", "ssn": "078-05-1120"},
    ).json()
    assert answer["decision"] == "stop" and "FTC-10" in {f["code"] for f in answer["flags"]}
    bad = client.post("/api/screen", headers=_h(tokens["registrar"]), json={"dob": "1990-02-30"})
    assert bad.status_code == 422


def test_each_worker_warms_up_before_serving_and_writes_nothing(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The start-up screening runs through (a failure would only be logged, so the log is
    checked), leaves the pool's connections open, and writes no audit entry or flag."""
    from phiwarden.store.redflag_tables import red_flags
    from phiwarden.web.app import warm_up

    _client, _tokens, stores = world
    with stores.engine.connect() as conn:
        before = [
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (audit_log, red_flags)
        ]
    with caplog.at_level("WARNING", logger="phiwarden.web"):
        warm_up(stores, 8)
    assert not [r for r in caplog.records if "warm-up" in r.getMessage()]
    assert stores.engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
    with stores.engine.connect() as conn:
        after = [
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (audit_log, red_flags)
        ]
    assert after == before
