"""A breach incident in headless Debian chromium: the privacy officer records the phished
mailbox, scans it from the evidence folder, sees the affected people and their elements,
opens one person's evidence and rejects a finding; the reads are in the audit trail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import ingest_and_scan
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.synth.mailbox import write_mailbox
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user
from test_browser import CHROMIUM, PASSWORD, _fits, serving
from test_browser_cases import _sign_in

pytestmark = [pytest.mark.e2e]
SHOTS = os.environ.get("PHIWARDEN_SCREENSHOTS")


@pytest.fixture
def office(
    stores: Stores, small_hospital: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    ingest_and_scan(stores, small_hospital)
    add_user(stores.engine, "pat", "privacy_officer", PASSWORD)
    evidence = tmp_path / "evidence"
    monkeypatch.setenv("PHIWARDEN_EVIDENCE_DIR", str(evidence))
    truth = write_mailbox(small_hospital / "canonical", evidence, seed=11)
    (evidence / "README.txt").unlink()
    with serving(create_app(stores, tick_seconds=None)) as url:
        yield url, truth


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_an_incident_from_the_form_to_a_rejected_finding(
    office: tuple[str, list[dict[str, Any]]], stores: Stores
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, truth = office
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = _sign_in(browser, server, "pat")
        # 1. record the incident
        page.click("header a:has-text('Incidents')")
        page.fill("input[name=title]", "Phished billing mailbox")
        page.select_option("select[name=type]", "hacking")
        page.select_option("select[name=location]", "email")
        page.click("button:has-text('Record the incident')")
        expect(page.locator("h1")).to_contain_text("BR-")
        incident = page.locator("h1").inner_text().split()[0]
        # 2. scan the mailbox from the evidence folder; the page refreshes until it is done
        page.select_option("select[name=path]", "compromised.mbox")
        page.click("button:has-text('Scan')")
        expect(page.locator("#people-count")).to_have_text(f"{len(truth):,}", timeout=60_000)
        expect(page.locator("text=Scanning")).to_have_count(0, timeout=30_000)
        rows = page.locator("#people tbody tr")
        expect(rows).to_have_count(min(len(truth), 100))
        expect(page.locator("#elements .main-svg").first).to_be_visible()
        assert _fits(page)
        _shot(page, "incident")
        # 3. one person's evidence; reject one finding with a reason
        with_ssn = page.locator("#people tbody tr:has(.pill:text-is('ssn')) a").first
        name = with_ssn.inner_text()
        with_ssn.click()
        expect(page.locator("h1")).to_contain_text(name)
        ssn_row = page.locator("#evidence tbody tr:has(.pill:text-is('ssn'))").first
        expect(ssn_row.locator("code")).to_contain_text("***-**-")
        ssn_row.locator("input[name=reason]").fill("that number is the guarantor's")
        ssn_row.locator("button:has-text('Reject')").click()
        expect(page.locator("#evidence tbody tr:has(.pill:text-is('ssn'))").first).to_contain_text(
            "rejected"
        )
        _shot(page, "incident-person")
        page.click(f"a:has-text('{incident}')")
        row = page.locator(f"#people tbody tr:has(a:text-is('{name}'))")
        expect(row).not_to_contain_text("ssn")
        browser.close()
    with stores.engine.connect() as conn:
        reads = conn.execute(
            select(audit_log.c.action, audit_log.c.object_type).where(audit_log.c.actor == "pat")
        ).all()
    assert ("read", "incident") in reads and ("read", "incident_person") in reads
    assert ("review", "incident") in reads and ("scan", "incident") in reads


def test_decide_see_the_deadlines_write_the_letters_and_answer_a_caller(
    office: tuple[str, list[dict[str, Any]]], stores: Stores
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from phiwarden.breach.incident import Incident, open_incident
    from phiwarden.breach.scan import scan_paths
    from phiwarden.store.breach_tables import breach_letters
    from phiwarden.web.users import add_user

    server, truth = office
    evidence = stores.settings.evidence_dir
    incident = open_incident(
        stores,
        Incident(
            title="Phished billing mailbox",
            discovered=date(2026, 11, 20),
            type="hacking",
            location="email",
        ),
        actor="pat",
    )
    scan_paths(stores, incident, [evidence / "compromised.mbox"], actor="pat", workers=1)
    add_user(stores.engine, "cal", "call_center", PASSWORD)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = _sign_in(browser, server, "pat")
        page.goto(f"{server}/incidents/{incident}")
        # the presumption: "not a breach" without the four factors documented is refused
        page.select_option("select[name=outcome]", "not-breach")
        page.fill("input[name=reason]", "only names")
        page.click("button:has-text('Sign the decision')")
        expect(page.locator(".error")).to_contain_text("document every factor")
        page.select_option("select[name=outcome]", "breach")
        page.fill("input[name=reason]", "an unknown attacker read the mailbox")
        page.click("button:has-text('Sign the decision')")
        expect(page.locator("#decision + p .pill")).to_have_text("breach")
        table = page.locator("#obligations-table")
        expect(table).to_contain_text("Notify")
        expect(table).to_contain_text("2027-01-19")  # 60 days after 2026-11-20 (164.404(b))
        expect(page.locator("#deadlines .main-svg").first).to_be_visible()
        _shot(page, "incident-obligations")
        page.click("button:has-text('Write the letters')")
        expect(page.locator("#letters + p")).not_to_contain_text("Writing", timeout=60_000)
        expect(page.locator("#letters + p")).to_contain_text("ready")
        _shot(page, "incident-letters")
        browser.close()
        with stores.engine.connect() as conn:
            references = conn.execute(select(breach_letters.c.reference)).scalars().all()
        assert len(references) == len(truth), "one letter per affected person"
        reference = references[0]
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        agent = _sign_in(browser, server, "cal")
        agent.goto(f"{server}/callcenter")
        agent.fill("input[name=reference]", reference)
        agent.click("button:has-text('Look up')")
        expect(agent.locator("#answer")).to_contain_text("Affected")
        expect(agent.locator("#answer")).to_contain_text(reference)
        agent.fill("input[name=reference]", "ZZZZ-9999")
        agent.click("button:has-text('Look up')")
        expect(agent.locator("#answer")).to_contain_text("Not found")
        _shot(agent, "callcenter")
        browser.close()
