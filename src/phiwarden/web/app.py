"""The web application: a status page, a health check, and the REST API under /api.

The investigator's pages plug in here (issue #6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from phiwarden import __version__
from phiwarden.lake.reader import lake_stats
from phiwarden.store import repositories as repo
from phiwarden.store.setup import Stores
from phiwarden.web.api import router as api_router

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def create_app(stores: Stores) -> FastAPI:
    """Build the ASGI app over open stores."""
    app = FastAPI(title="phiwarden", version=__version__)
    app.state.stores = stores
    app.include_router(api_router())

    def status() -> dict[str, Any]:
        with stores.engine.connect() as conn:
            counts = repo.table_counts(conn)
            quarantined = repo.count_quarantine(conn)
        return {
            "records": counts,
            "quarantined": quarantined,
            "lake": lake_stats(stores.settings.lake_dir),
        }

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the process answers and reaches its database."""
        repo.ping(stores.engine)
        return {"status": "ok", "version": __version__}

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        """Status page: what the stores hold (aggregate counts only, no PHI)."""
        return TEMPLATES.TemplateResponse(
            request, "home.html", {"status": status(), "version": __version__}
        )

    return app
