"""An identity-theft case in headless Debian chromium: the registrar opens the case from
the red flag and, registering the victim, sees the alert; the privacy officer uploads the
ID, the affidavit and the police report, substantiates, separates the records and signs
the tasks off; every read is in the audit trail."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import ingest_and_scan
from phiwarden.store.redflag_tables import red_flags
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user
from test_browser import CHROMIUM, PASSWORD, _fits, serving
from test_cases import image, pdf

pytestmark = [pytest.mark.e2e]
#: set PHIWARDEN_SCREENSHOTS=DIR to keep a PNG of each page the test passes through
SHOTS = os.environ.get("PHIWARDEN_SCREENSHOTS")


@pytest.fixture
def desk(stores: Stores, small_hospital: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    ingest_and_scan(stores, small_hospital)
    add_user(stores.engine, "rita", "registrar", PASSWORD)
    add_user(stores.engine, "pat", "privacy_officer", PASSWORD)
    truth = json.loads((small_hospital / "ground_truth.json").read_text())["identity_theft"]
    t = next(x for x in truth if x["scenario"] == "blood_type_conflict")
    p = domain_table("patients")
    with stores.engine.connect() as conn:
        flag_id = conn.execute(
            select(red_flags.c.flag_id).where(red_flags.c.registration_id == t["registration_id"])
        ).scalar_one()
        victim = dict(conn.execute(select(p).where(p.c.mrn == t["mrn"])).mappings().one())
    with serving(create_app(stores, tick_seconds=None)) as url:
        yield url, {"flag_id": flag_id, "victim": victim}


def _sign_in(browser: Any, server: str, name: str) -> Any:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{server}/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    return page


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_an_identity_theft_case_from_the_desk_to_separation(
    desk: tuple[str, dict[str, Any]], stores: Stores, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, info = desk
    victim = info["victim"]
    files = {}
    for kind, name, content in (
        ("photo_id", "photo-id.jpg", image("JPEG")),
        ("affidavit", "affidavit.pdf", pdf("Forgery affidavit, signed")),
        ("police_report", "police-report.png", image("PNG")),
    ):
        (tmp_path / name).write_bytes(content)
        files[kind] = tmp_path / name
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        # 1. the registrar opens the case from the flag, then registering the victim sees the alert
        desk_page = _sign_in(browser, server, "rita")
        desk_page.goto(f"{server}/flags/{info['flag_id']}")
        desk_page.click("button:has-text('Open identity-theft case')")
        expect(desk_page.locator("h1")).to_contain_text("Open tasks")
        desk_page.goto(f"{server}/screen")
        desk_page.fill("input[name=mrn]", victim["mrn"])
        desk_page.fill("input[name=first_name]", victim["first_name"])
        desk_page.fill("input[name=last_name]", victim["last_name"])
        desk_page.fill("input[name=dob]", victim["dob"].isoformat())
        desk_page.click("button:has-text('Screen')")
        expect(desk_page.locator(".banner")).to_contain_text(
            "Alleged identity theft - positive ID required"
        )
        expect(desk_page.locator("#decision")).to_contain_text("Stop")
        _shot(desk_page, "screening")
        desk_page.goto(f"{server}/patients/{victim['mrn']}")
        expect(desk_page.locator(".banner")).to_contain_text("positive ID required")
        # 2. the privacy officer uploads the three documents
        po = _sign_in(browser, server, "pat")
        po.goto(f"{server}/cases?type=identity_theft")
        _shot(po, "case-queue")
        po.locator("a[href^='/cases/IT-']").first.click()
        case_id = po.locator("h1").inner_text().split()[0]
        expect(po.locator(".pill").first).to_have_text("Alleged")
        for kind, path in files.items():
            po.select_option("select[name=kind]", kind)
            po.set_input_files("input[type=file]", str(path))
            po.click("button:has-text('Upload')")
            expect(po.locator(".timeline")).to_contain_text("Document received")
        _shot(po, "case-documents")
        # 3. substantiate and separate
        po.click("form:has(input[value=substantiate]) button")
        expect(po.locator(".pill").first).to_have_text("Substantiated")
        po.click("form:has(input[value=separate]) button")
        expect(po.locator(".pill").first).to_have_text("Records separated")
        expect(po.locator(".timeline")).to_contain_text("moved to MRN")
        _shot(po, "case-separated")
        assert _fits(po), "the case page scrolls sideways on a laptop screen"
        # 4. every task is signed off
        while po.locator("button:has-text('Sign off')").count():
            po.locator("button:has-text('Sign off')").first.click()
            po.wait_for_load_state()
        expect(po.locator("td .ok").first).to_have_text("signed off")
        _shot(po, "case-signed")
        browser.close()
    # 5. the reads are in the audit trail
    with stores.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
    seen = {(r["actor"], r["action"], r["object_type"], r["object_id"]) for r in rows}
    assert ("rita", "open", "case", case_id) in seen
    assert ("rita", "read", "patient", victim["mrn"]) in seen
    assert ("pat", "read", "case", case_id) in seen
    assert ("pat", "separate", "case", case_id) in seen
    assert any(a == "rita" and act == "screen" for a, act, _o, _i in seen)
