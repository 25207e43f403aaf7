"""The pages in headless Debian chromium through Playwright: sign in, open the queue,
open an alert, see its chart, record a decision, and find the read in the audit trail; the
same work with JavaScript switched off; no page wider than a laptop screen."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import analyse
from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import audit_log
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user

CHROMIUM = Path(os.environ.get("PHIWARDEN_CHROMIUM") or "/usr/bin/chromium")
PASSWORD = "correct horse battery"
pytestmark = [pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(stores: Stores, small_hospital: Path) -> Iterator[str]:

    analyse(stores, small_hospital)
    add_user(stores.engine, "ivy", "investigator", PASSWORD)
    with serving(create_app(stores)) as url:
        yield url


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_investigator_decides_an_alert_in_the_browser(server: str, stores: Stores) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{server}/alerts")
        expect(page).to_have_url(f"{server}/signin")
        page.fill("input[name=name]", "ivy")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        expect(page.locator("h1")).to_have_text("Dashboard")
        page.click("header >> text=Alerts")
        first = page.locator("#queue a[href^='/alerts/']").first
        alert_id = first.inner_text()
        first.click()
        expect(page.locator("h1")).to_contain_text(alert_id)
        expect(page.locator("#timeline .main-svg").first).to_be_visible()
        assert _fits(page), "the alert page scrolls sideways on a 1366x768 screen"
        page.select_option("select[name=decision]", "violation")
        page.fill("[name=note]", "confirmed in the browser")
        page.click("button:has-text('Record decision')")
        expect(page.locator("#status")).to_have_text("violation")
        browser.close()
    with stores.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
    seen = {(r["actor"], r["action"], r["object_type"], r["object_id"]) for r in rows}
    assert ("ivy", "read", "alert", alert_id) in seen
    assert ("ivy", "decide", "alert", alert_id) in seen


def _fits(page: Any) -> bool:
    """No horizontal scrolling: the page is no wider than the window."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_pages_work_without_javascript_on_a_laptop_screen(server: str, stores: Stores) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 1280, "height": 800}
        )
        page = context.new_page()
        page.goto(f"{server}/signin")
        page.fill("input[name=name]", "ivy")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        expect(page.locator("h1")).to_have_text("Dashboard")
        assert _fits(page)
        page.click("header >> text=Alerts")
        page.select_option("select[name=sort]", "user")
        page.select_option("select[name=status]", "new")
        page.click("button:has-text('Show')")
        assert "sort=user" in page.url and "status=new" in page.url
        assert _fits(page)
        page.locator("#queue a[href^='/alerts/']").first.click()
        # the chart needs JavaScript; its numbers do not
        page.click("summary:has-text('Accesses per hour as a table')")
        expect(page.locator("details table tbody tr").first).to_be_visible()
        assert _fits(page)
        page.select_option("select[name=decision]", "needs_investigation")
        page.click("button:has-text('Record decision')")
        expect(page.locator("#status")).to_have_text("needs_investigation")
        page.click("header >> text=Red flags")
        page.locator("#flags a[href^='/flags/']").first.click()
        expect(page.locator("h2", has_text="Prescribed action")).to_be_visible()
        page.fill("[name=note]", "identity verified in person")
        page.click("button:has-text('Save')")
        expect(page.locator("p", has_text="Resolution: ivy: identity verified")).to_be_visible()
        assert _fits(page)
        context.close()
        browser.close()
