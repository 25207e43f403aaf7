"""Schemathesis against the API's OpenAPI document, in-process: no input gives a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conftest import analyse
from phiwarden.config import load_settings
from phiwarden.store.setup import initialise
from phiwarden.web.app import create_app
from phiwarden.web.users import add_user, issue_token

TOKEN: dict[str, str] = {}


@pytest.fixture
def api_schema(small_hospital: Path, tmp_path: Path) -> Any:
    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'store.db'}"))
    analyse(stores, small_hospital)
    add_user(stores.engine, "fuzz", "privacy_officer", "correct horse battery")
    TOKEN["value"] = issue_token(stores.engine, "fuzz")[1]
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(stores))


def test_no_server_errors(api_schema: Any) -> None:
    """Every operation, up to 15 generated requests each (schemathesis + hypothesis)."""
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        run()
    assert operations >= 10 and len(calls) >= 3 * operations, (operations, len(calls))
    assert not failures, failures[:5]
