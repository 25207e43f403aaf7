"""The investigator's pages in-process (httpx through Starlette's TestClient): sign-in,
sessions, CSRF, rate limiting, page permissions, and the audit trail of page reads."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from conftest import analyse, database_url
from phiwarden.config import load_settings
from phiwarden.monitor import queue as review_queue
from phiwarden.monitor.catalogue import BY_CODE as DETECTORS
from phiwarden.store.monitor_tables import monitor_runs
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores, initialise
from phiwarden.store.web_tables import audit_log
from phiwarden.web.app import create_app
from phiwarden.web.audit import verify
from phiwarden.web.roles import Permission, Role, allowed
from phiwarden.web.session_middleware import SAFE_HEADERS
from phiwarden.web.users import add_user
from phiwarden.web.views.case_pages import router as case_pages_router
from phiwarden.web.views.pages import router as pages_router

PASSWORD = "correct horse battery"
patients = domain_table("patients")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    root = tmp_path_factory.mktemp(f"web-{request.param}")
    with database_url(request.param, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        analyse(stores, small_hospital)
        for role in Role:
            add_user(stores.engine, f"u_{role.value}", role.value, PASSWORD)
        try:
            yield stores
        finally:
            stores.engine.dispose()


def signed_in(stores: Stores, role: str) -> TestClient:
    client = TestClient(create_app(stores), base_url="http://127.0.0.1")
    form = client.get("/signin")
    pre = re.search(r'name="pre" value="([^"]+)"', form.text)
    assert pre is not None
    done = client.post(
        "/signin",
        data={"name": f"u_{role}", "password": PASSWORD, "pre": pre.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/", done.headers
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_health_is_public_and_pages_need_sign_in(site: Stores) -> None:
    client = TestClient(create_app(site))
    assert client.get("/health").json()["status"] == "ok"
    for path in ("/", "/alerts", "/flags"):
        got = client.get(path, follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"] == "/signin"
    cookie = client.get("/signin").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_wrong_password_and_a_forged_form_are_refused(site: Stores) -> None:
    client = TestClient(create_app(site))
    form = client.get("/signin")
    pre = csrf_pre = re.search(r'name="pre" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    bad = client.post(
        "/signin",
        data={"name": "u_auditor", "password": "nope", "pre": pre},
        follow_redirects=False,
    )
    assert bad.headers["location"].startswith("/signin?error=wrong")
    other = TestClient(create_app(site))  # no pre cookie: a cross-site post
    forged = other.post(
        "/signin",
        data={"name": "u_auditor", "password": PASSWORD, "pre": csrf_pre},
        follow_redirects=False,
    )
    assert "expired" in forged.headers["location"]


def test_sign_in_is_rate_limited(site: Stores) -> None:
    client = TestClient(create_app(site))
    answers = []
    for _ in range(12):
        pre = re.search(r'name="pre" value="([^"]+)"', client.get("/signin").text).group(1)  # type: ignore[union-attr]
        answers.append(
            client.post(
                "/signin",
                data={"name": "nobody", "password": "x", "pre": pre},
                follow_redirects=False,
            ).headers["location"]
        )
    assert not any("Too+many" in a for a in answers[:10])
    assert all("Too+many" in a for a in answers[10:])


def test_dashboard_queue_alert_and_decision(site: Stores) -> None:
    client = signed_in(site, "investigator")
    home = client.get("/")
    assert (
        home.status_code == 200
        and "Top alert reasons" in home.text
        and "/static/plotly.min.js" in home.text
    )
    assert client.get("/static/plotly.min.js").status_code == 200
    queue = client.get("/alerts")
    assert queue.status_code == 200
    alert_id = re.search(r'href="/alerts/(A[0-9a-f]+)"', queue.text).group(1)  # type: ignore[union-attr]
    page = client.get(f"/alerts/{alert_id}")
    assert (
        page.status_code == 200 and 'id="timeline"' in page.text and "Record decision" in page.text
    )
    forged = client.post(f"/alerts/{alert_id}/decide", data={"decision": "violation", "csrf": "x"})
    assert forged.status_code == 403
    done = client.post(
        f"/alerts/{alert_id}/decide",
        data={"decision": "violation", "note": "confirmed", "csrf": csrf_of(page.text)},
    )
    assert done.status_code == 200 and ">violation<" in done.text
    with site.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
        assert review_queue.get_alert(conn, alert_id)["status"] == "violation"  # type: ignore[index]
    seen = {(r["actor"], r["action"], r["object_id"]) for r in rows}
    assert ("u_investigator", "read", alert_id) in seen and (
        "u_investigator",
        "decide",
        alert_id,
    ) in seen
    assert verify(site.engine).ok


def test_alert_page_shows_evidence_relationships_and_patients(site: Stores) -> None:
    personal = {code for code, d in DETECTORS.items() if d.relationship}
    with site.engine.connect() as conn:
        queue = review_queue.list_alerts(conn, limit=10_000)
        mrns = dict(conn.execute(select(patients.c.patient_id, patients.c.mrn)).all())
    alert = next(a for a in queue if any(r["code"] in personal for r in a["reasons"]))
    tie = next(r for r in alert["reasons"] if r["code"] in personal)["evidence"][0]
    page = signed_in(site, "privacy_officer").get(f"/alerts/{alert['alert_id']}")
    assert page.status_code == 200
    found = page.text.split("Relationships found", 1)[1].split("<h2>", 1)[0]
    assert f'href="/patients/{mrns[tie["patient_id"]]}"' in found
    assert str(escape(tie["detail"])) in found
    listed = page.text.split('id="patients"', 1)[1]
    assert all(f">{mrns[pid]}<" in listed for pid in alert["patient_ids"])
    assert "{&#39;patient_id" not in page.text and "{'patient_id" not in page.text
    # the chart's numbers are on the page for a reader without JavaScript
    assert "Accesses per hour as a table" in page.text
    # an admin may read alerts but not patients: MRNs are shown, not linked
    plain = signed_in(site, "admin").get(f"/alerts/{alert['alert_id']}")
    assert "/patients/" not in plain.text


def test_dashboard_shows_the_explained_fraction(site: Stores) -> None:
    with site.engine.connect() as conn:
        stats = [s for (s,) in conn.execute(select(monitor_runs.c.stats)) if s and s["accesses"]]
    total = sum(s["accesses"] for s in stats)
    explained = sum(s["explained"] for s in stats)
    page = signed_in(site, "auditor").get("/")
    tile = page.text.split('id="explained"', 1)[1].split("</div>", 1)[0]
    assert f"{100 * explained / total:.1f}%" in tile and f"{total:,} accesses" in tile


def test_dashboard_and_status_show_the_newest_readiness_report(site: Stores) -> None:
    from phiwarden.monitor.readiness import latest

    found = latest(site.engine)
    assert found is not None
    at, ready = found
    page = signed_in(site, "auditor").get("/")
    section = page.text.split("Data readiness", 1)[1].split("</section>", 1)[0]
    assert at.strftime("%Y-%m-%d %H:%M") in section
    assert [c.topic for c in ready.checks] == re.findall(
        r'<td class="nowrap">([^<]+)</td>', section
    )
    assert f"{ready.counts['accesses']:,} accesses" in section
    status = signed_in(site, "auditor").get("/api/status").json()
    assert status["readiness"]["counts"] == ready.counts


def test_dashboard_top_reasons_count_every_alert_reason(site: Stores) -> None:
    from collections import Counter

    from phiwarden.store.monitor_tables import alerts
    from phiwarden.web.views.data import dashboard

    with site.engine.connect() as conn:
        counts = Counter(r["title"] for (rs,) in conn.execute(select(alerts.c.reasons)) for r in rs)
    top = dashboard(site)["top_reasons"]
    assert top and all(counts[reason] == n for reason, n in top)
    assert [n for _r, n in top] == sorted(counts.values(), reverse=True)[: len(top)]


def test_queue_sorts_filters_by_user_and_refuses_an_unknown_sort(site: Stores) -> None:
    client = signed_in(site, "investigator")
    with site.engine.connect() as conn:
        recent = [a["alert_id"] for a in review_queue.list_alerts(conn, sort="recent")]
        user = review_queue.list_alerts(conn, limit=1)[0]["user_id"]
        theirs = review_queue.count_alerts(conn, user_id=user)
    page = client.get("/alerts?sort=recent")
    assert re.findall(r'<td><a href="/alerts/(A[0-9a-f]+)"', page.text) == recent
    mine = client.get(f"/alerts?user_id={user}")
    assert f'Access alerts <small class="muted">{theirs:,}</small>' in mine.text
    assert client.get("/alerts?sort=size").status_code == 422
    assert client.get(f"/alerts?page={2**62}").status_code == 422


def test_flag_patient_and_workforce_pages(site: Stores) -> None:
    client = signed_in(site, "privacy_officer")
    with site.engine.connect() as conn:
        flag = (
            conn.execute(select(red_flags).where(red_flags.c.mrn.is_not(None)).limit(1))
            .mappings()
            .one()
        )
        alert = review_queue.list_alerts(conn, limit=1)[0]
    page = client.get(f"/flags/{flag['flag_id']}")
    assert page.status_code == 200 and "Prescribed action" in page.text
    patient = client.get(f"/patients/{flag['mrn']}")
    assert patient.status_code == 200 and "***-**-" in patient.text
    case = client.get(f"/cases/{alert['case_id']}")
    assert case.status_code == 200 and alert["alert_id"] in case.text
    with site.engine.connect() as conn:
        reads = conn.execute(
            select(audit_log.c.object_type, audit_log.c.object_id).where(
                audit_log.c.action == "read"
            )
        ).all()
    assert ("case", alert["case_id"]) in {tuple(r) for r in reads}
    people = client.get(f"/workforce/{alert['user_id']}")
    assert people.status_code == 200 and "Patients opened" in people.text
    resolved = client.post(
        f"/flags/{flag['flag_id']}/resolve",
        data={"status": "resolved", "note": "verified", "csrf": csrf_of(page.text)},
    )
    assert resolved.status_code == 200 and "Resolution:" in resolved.text


def test_workforce_population_downloads_as_csv_and_the_export_is_audited(site: Stores) -> None:
    from phiwarden.monitor.population import population

    client = signed_in(site, "privacy_officer")
    with site.engine.connect() as conn:
        alert = review_queue.list_alerts(conn, limit=1)[0]
    first, last = alert["window_start"], alert["window_end"]
    expected = population(site, alert["user_id"], first, last)
    got = client.get(f"/workforce/{alert['user_id']}/patients.csv?since={first}&until={last}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["mrn"] for r in rows] == [str(r["mrn"]) for r in expected]
    assert {"address_line", "city", "zip"} <= set(rows[0])
    backwards = client.get(f"/workforce/{alert['user_id']}/patients.csv?since={last}&until={first}")
    assert backwards.status_code == 422
    with site.engine.connect() as conn:
        exports = conn.execute(
            select(audit_log.c.actor, audit_log.c.object_id, audit_log.c.detail).where(
                audit_log.c.action == "export"
            )
        ).all()
    assert any(
        actor == "u_privacy_officer"
        and oid == alert["user_id"]
        and detail["patients"] == len(expected)
        for actor, oid, detail in exports
    )


#: pages anyone may reach: the sign-in form, signing out, and Plotly's script
PUBLIC_PAGES = {"/signin", "/signout", "/static/plotly.min.js"}


def _page_permissions() -> dict[tuple[str, str], Permission]:
    """(method, path template) -> the one permission each page route declares."""
    declared = {}
    for route in [*pages_router.routes, *case_pages_router.routes]:
        assert isinstance(route, APIRoute)
        if route.path in PUBLIC_PAGES:
            continue
        perms = [getattr(d.call, "permission", None) for d in route.dependant.dependencies]
        perms = [p for p in perms if p is not None]
        assert len(perms) == 1, f"the page {route.path} declares no permission"
        for method in route.methods:
            declared[(method, route.path)] = perms[0]
    return declared


def _theft_case_with_a_document(stores: Stores, mrn: str) -> str:
    """The patient's identity-theft case (opened once per module) with one document."""
    from phiwarden.cases import documents, theft

    opened = theft.allege(stores, victim_mrn=mrn, actor="test")
    if not opened.joined:
        documents.upload(
            stores, opened.case_id, "photo_id", "id.pdf", _pdf("ID"), actor="test", revision=None
        )
    return opened.case_id


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_against_every_page(site: Stores, role: str) -> None:
    with site.engine.connect() as conn:
        alert = review_queue.list_alerts(conn, limit=1)[0]
        flag_id = conn.execute(select(red_flags.c.flag_id).limit(1)).scalar_one()
        mrn = conn.execute(select(patients.c.mrn).limit(1)).scalar_one()
    ids = {
        "alert_id": alert["alert_id"],
        "case_id": _theft_case_with_a_document(site, mrn),
        "user_id": alert["user_id"],
        "flag_id": flag_id,
        "mrn": mrn,
        "document_id": 1,
        "task_id": 1,
        "refund_id": 999999,
    }
    client = signed_in(site, role)
    declared = _page_permissions()
    assert len(declared) >= 21
    for (method, template), permission in declared.items():
        url = template.format(**ids)
        got = client.request(method, url, data={} if method == "POST" else None)
        if not allowed(role, permission):
            assert got.status_code == 403, (role, method, url, got.status_code)
        elif method == "GET":
            assert got.status_code == 200, (role, url, got.status_code)
        else:  # allowed, but the empty form is refused before anything changes
            assert got.status_code == 422, (role, method, url, got.status_code)


def test_api_with_a_session_needs_the_csrf_header(site: Stores) -> None:
    client = signed_in(site, "privacy_officer")
    body: dict[str, Any] = {"kind": "phone", "value": "(907) 555-7788", "reason": "test"}
    refused = client.post("/api/watch", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert refused.headers["X-Frame-Options"] == "DENY"
    for wrong in ("x", "é" * 10):  # a non-ASCII token is refused, not a 500
        got = client.post("/api/watch", json=body, headers={"X-CSRF-Token": wrong.encode()})
        assert got.status_code == 403
    token = csrf_of(client.get("/").text)
    made = client.post("/api/watch", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    for name, value in SAFE_HEADERS:
        assert made.headers[name] == value


def test_a_worker_builds_its_routes_before_the_first_request(site: Stores) -> None:
    # FastAPI builds a route's dependency graph the first time a request is matched
    # against it; the lifespan sends one request through the app so no caller waits
    import asyncio

    from phiwarden.web.app import create_app, warm_routes

    app = create_app(site, tick_seconds=None)
    assert asyncio.run(warm_routes(app)) == 404  # through the middleware and every route
    assert app.middleware_stack is not None


def test_sign_out_ends_the_session(site: Stores) -> None:
    client = signed_in(site, "auditor")
    home = client.get("/")
    client.post("/signout", data={"csrf": csrf_of(home.text)})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_serve_workers_build_the_app_from_the_environment_with_a_thread_cap(
    site: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what each `phiwarden serve --workers N` process does
    import anyio.to_thread

    from phiwarden.web.app import app_from_environment

    monkeypatch.setenv("PHIWARDEN_DATA_DIR", str(site.settings.data_dir))
    monkeypatch.setenv("PHIWARDEN_DATABASE_URL", site.settings.database_url)
    monkeypatch.setenv("PHIWARDEN_KEY_FILE", str(site.settings.key_file))
    monkeypatch.setenv("PHIWARDEN_THREADS", "3")
    app = app_from_environment()
    seen: list[float] = []

    @app.get("/_threads")
    async def threads() -> dict[str, float]:
        seen.append(anyio.to_thread.current_default_thread_limiter().total_tokens)
        return {}

    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        client.get("/_threads")
    assert seen == [3]
    assert app.state.stores.engine.pool.size() == 10  # never fewer than the default
    app.state.stores.engine.dispose()
    # a connection per request thread, so a busy worker does not open one per request
    monkeypatch.setenv("PHIWARDEN_THREADS", "16")
    busy = app_from_environment()
    assert busy.state.stores.engine.pool.size() == 18
    busy.state.stores.engine.dispose()
    # `serve --threads 16` with one worker grows the pool of the stores it opened
    from phiwarden.web.app import with_pool_for

    assert with_pool_for(site, 8) is site
    grown = with_pool_for(site, 16)
    assert grown.engine.pool.size() == 18 and grown.settings == site.settings
    grown.engine.dispose()


def test_the_screening_page_says_proceed_once(site: Stores) -> None:
    client = signed_in(site, "registrar")
    form = client.get("/screen")
    page = client.post(
        "/screen",
        data={"first_name": "Nobody", "last_name": "Known", "csrf": csrf_of(form.text)},
    )
    assert page.status_code == 200
    heading = re.search(r'<h2 id="decision"[^>]*>([^<]+)</h2>', page.text)
    assert heading is not None and "proceed" in heading.group(1).lower()
    assert not heading.group(1).startswith("Proceed: ")
