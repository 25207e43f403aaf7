"""The web app in-process (Starlette's httpx-based TestClient): health check and status page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phiwarden.ingest.run import run_ingest
from phiwarden.store.setup import Stores
from phiwarden.web.app import create_app


@pytest.fixture
def client(stores: Stores, tmp_path: Path) -> TestClient:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "facilities.csv").write_text("facility_id,name,city,state\nF1,General,St. Louis,MO\n")
    run_ingest(
        [folder],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    return TestClient(create_app(stores))


def test_health_and_status_page(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200
    assert "facilities" in page.text and "access events" in page.text
