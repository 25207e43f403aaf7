"""The REST API (JSON, OpenAPI at /openapi.json): every route declares one permission."""

from __future__ import annotations

from fastapi import APIRouter

from phiwarden.web.api import (
    alerts,
    billing,
    case_work,
    cases,
    flags,
    incidents,
    investigations,
    notify,
    people,
    program,
    status,
)

#: The API's routers; every route of each declares its permission (tests/test_api.py).
ROUTERS: tuple[APIRouter, ...] = (
    status.router,
    alerts.router,
    cases.router,
    case_work.router,
    billing.router,
    flags.router,
    people.router,
    incidents.router,
    notify.router,
    investigations.router,
    program.router,
)
PREFIX = "/api"


def router() -> APIRouter:
    """All API routes under /api."""
    api = APIRouter(prefix=PREFIX)
    for sub in ROUTERS:
        api.include_router(sub)
    return api
