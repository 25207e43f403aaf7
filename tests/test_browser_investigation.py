"""A privacy investigation in headless Debian chromium, from an alert to an incident: the
investigator opens it from the alert (the evidence is frozen), records the interview and
submits a finding; the Privacy Officer determines a violation at a level of the sanction
policy; HR sees the sanction task (and nothing of the case) and signs it off; the Privacy
Officer records the breach decision, which opens an incident with the member's
population; the call centre checks a refill caller."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import analyse
from phiwarden.store.monitor_tables import alerts
from phiwarden.store.program_tables import sanctions
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user
from test_browser import CHROMIUM, PASSWORD, _fits, serving
from test_browser_cases import _sign_in

pytestmark = [pytest.mark.e2e]
SHOTS = os.environ.get("PHIWARDEN_SCREENSHOTS")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def office(stores: Stores, small_hospital: Path) -> Iterator[tuple[str, str]]:
    analyse(stores, small_hospital)
    for name, role in (
        ("ivy", "investigator"),
        ("pat", "privacy_officer"),
        ("hana", "hr"),
        ("cc", "call_center"),
    ):
        add_user(stores.engine, name, role, PASSWORD)
    with stores.engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.alert_id).order_by(alerts.c.score.desc())).scalar()
    assert alert_id
    with serving(create_app(stores, tick_seconds=None)) as url:
        yield url, str(alert_id)


def test_from_an_alert_to_a_determination_a_sanction_and_an_incident(
    office: tuple[str, str], stores: Stores
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, alert_id = office
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        ivy = _sign_in(browser, server, "ivy")
        ivy.goto(f"{server}/alerts/{alert_id}")
        expect(ivy.locator("#history")).to_contain_text("no earlier investigation")
        ivy.click("#investigate button")
        expect(ivy.locator("h1")).to_contain_text("PI-")
        case_id = ivy.locator("h1").inner_text().split()[0]
        expect(ivy.locator("#evidence")).to_contain_text("intact")
        ivy.fill("textarea[name=text] >> nth=0", "12/02 with HR: said she was curious")
        ivy.click("button:has-text('Record the interview')")
        ivy.fill("#finding textarea", "Opened records with no care relationship, out of curiosity")
        ivy.click("#finding button")
        expect(ivy.locator(".pill").first).to_contain_text("Awaiting")
        _shot(ivy, "investigation-submitted")
        # the Privacy Officer determines a level-2 violation
        pat = _sign_in(browser, server, "pat")
        pat.goto(f"{server}/cases/{case_id}")
        pat.select_option("#determine select[name=level]", "2")
        pat.fill("#determine textarea[name=reason]", "Repeated access after a warning")
        pat.click("#determine button")
        expect(pat.locator(".pill").first).to_have_text("Violation found")
        expect(pat.locator("#determination")).to_contain_text("level 2")
        _shot(pat, "investigation-violation")
        assert _fits(pat), "the investigation page scrolls sideways on a laptop screen"
        # HR sees the sanction task and signs it off; the case itself is closed to HR
        hana = _sign_in(browser, server, "hana")
        hana.goto(f"{server}/sanctions")
        expect(hana.locator("#sanctions")).to_contain_text("Suspension without pay")
        row = hana.locator("#hr-tasks tr", has_text="Apply the sanction")
        row.locator("button:has-text('Sign off')").click()
        expect(hana.locator("#hr-tasks")).not_to_contain_text("Apply the sanction")
        _shot(hana, "sanctions")
        assert hana.goto(f"{server}/cases/{case_id}").status == 403  # type: ignore[union-attr]
        # the breach decision opens an incident with the member's population
        pat.goto(f"{server}/cases/{case_id}")
        pat.fill("#breach textarea[name=reason]", "Viewed without a need to know")
        pat.click("#breach button")
        expect(pat.locator(".pill").first).to_have_text("Breach decision recorded")
        pat.click("#incident-link")
        expect(pat.locator("h1")).to_contain_text("BR-")
        expect(pat.locator("#investigation-link")).to_have_text(case_id)
        _shot(pat, "incident-from-investigation")
        # a later look at the alert shows the member's history
        pat.goto(f"{server}/alerts/{alert_id}")
        expect(pat.locator("#history")).to_contain_text("violation")
        # the program page and the call centre's check
        pat.goto(f"{server}/program")
        expect(pat.locator("#deadlines")).to_contain_text("BR-")
        pdf = pat.request.get(f"{server}/api/program/report?format=pdf")
        assert pdf.ok and pdf.body()[:5] == b"%PDF-"
        _shot(pat, "program")
        assert _fits(pat), "the program page scrolls sideways on a laptop screen"
        cc = _sign_in(browser, server, "cc")
        cc.goto(f"{server}/callers")
        cc.fill("input[name=mrn]", "NO-SUCH-MRN")
        cc.fill("input[name=first_name]", "Ann")
        cc.fill("input[name=last_name]", "Lee")
        cc.click("#verify button")
        expect(cc.locator("#outcome")).to_contain_text("Not verified")
        _shot(cc, "callers")
        browser.close()
    with stores.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
        given = (
            conn.execute(select(sanctions.c.level).where(sanctions.c.case_id == case_id))
            .scalars()
            .all()
        )
    seen = {(r["actor"], r["action"], r["object_type"], r["object_id"]) for r in rows}
    assert given == [2]
    assert ("ivy", "open", "case", case_id) in seen
    assert ("pat", "determine", "case", case_id) in seen
    assert ("pat", "breach", "case", case_id) in seen
    assert any(a == "cc" and act == "verify_caller" for a, act, _o, _i in seen)
