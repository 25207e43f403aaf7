"""The web application: the investigator's pages, the REST API under /api, a health check.

A middleware resolves the session cookie to a user before any route runs; the API also
accepts bearer tokens. Errors never echo request data: a 500 says only that something
failed and where to look (the server log, which holds no PHI).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import replace
from datetime import date

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from phiwarden import __version__
from phiwarden.redflags.screen import Registration, screen_on
from phiwarden.store import repositories as repo
from phiwarden.store.db import POOL_SIZE, make_engine
from phiwarden.store.setup import Stores
from phiwarden.web import audit
from phiwarden.web.api import router as api_router
from phiwarden.web.session_middleware import SessionMiddleware
from phiwarden.web.sessions import RateLimiter
from phiwarden.web.users import warm_sign_in
from phiwarden.web.views.breach_pages import router as breach_pages_router
from phiwarden.web.views.case_pages import router as case_pages_router
from phiwarden.web.views.investigation_pages import router as investigation_pages_router
from phiwarden.web.views.notify_pages import router as notify_pages_router
from phiwarden.web.views.pages import router as pages_router
from phiwarden.web.views.program_pages import router as program_pages_router
from phiwarden.web.views.render import SignInRequired

log = logging.getLogger("phiwarden.web")


#: Threads serving requests at once (per worker process). Python runs one thread at a
#: time: with anyio's default of 40, a burst time-slices every request against 39 others
#: and all of them finish late; a few threads finish each request in turn.
THREADS = 8


#: How often ``serve`` runs the case tick (due timers, outbox); the timers themselves are
#: due dates in the store, so a missed minute only delays them.
TICK_SECONDS = 60.0


#: how often ``serve`` looks for obligation reminders: their stages change by the day, and
#: each look computes every decided incident's obligations
REMIND_SECONDS = 3600.0
_reminded_at: dict[int, float] = {}


def pool_size_for(threads: int) -> int:
    """Database connections a worker keeps: one per request thread, the tick's and one
    spare, and never fewer than the default (a pool smaller than its threads opens and
    closes a connection per request under load)."""
    return max(POOL_SIZE, threads + 2)


def with_pool_for(stores: Stores, threads: int) -> Stores:
    """``stores`` with a pool sized for ``threads`` (a new engine only when it must grow)."""
    size = pool_size_for(threads)
    if getattr(stores.engine.pool, "size", lambda: size)() >= size:
        return stores
    stores.engine.dispose()
    return replace(stores, engine=make_engine(stores.settings.database_url, size))


def tick_all(stores: Stores) -> None:
    """The tick (``phiwarden.tick``), with the breach obligations' reminders at most hourly."""
    import time

    from phiwarden.tick import tick_all as tick

    last = _reminded_at.get(id(stores))
    due = last is None or time.monotonic() - last >= REMIND_SECONDS
    tick(stores, reminders=due)
    if due:
        _reminded_at[id(stores)] = time.monotonic()


def warm_up(stores: Stores, connections: int) -> None:
    """Open the pool's connections and run the screening's queries once on each, before the
    first request: a fresh worker's first registrations otherwise waited for them (measured
    at startup under 70 a second: up to 0.6-1 s, and p95 over the first minute 53 ms
    against 14 ms once warm); a PostgreSQL session runs its first query on each table
    slower than the next. It reads only; a failure is logged and the server starts anyway.
    """
    # every field, so every parser the screening uses is loaded (nobody has these)
    probe = Registration(
        first_name="Warm",
        last_name="Up",
        dob=date(1900, 1, 1),
        sex="U",
        ssn="900-00-0000",
        address_line="1 Warm Up Way Apt 1",
        city="Nowhere",
        state="ZZ",
        zip="00000",
        phone="555-555-0100",
        payer="none",
        member_id="WARMUP0",
    )
    try:
        with ExitStack() as held:
            pool = getattr(stores.engine.pool, "size", lambda: 1)()
            for _ in range(max(1, min(connections, pool))):
                conn = held.enter_context(stores.engine.connect())
                screen_on(conn, stores, probe)
                warm_sign_in(conn)
                audit.head(conn)
                conn.rollback()
    except Exception as exc:
        log.warning("warm-up before serving failed: %s", type(exc).__name__)


async def warm_routes(app: FastAPI) -> int:
    """Send one request for a path no route has through the whole app, in process, and
    return its status (404: every route was tried). FastAPI builds each route's dependency
    graph when a request is first matched against it, and a fresh worker's first real
    request waited for all of them (measured: 165 ms, 29 ms after this). The request is
    built by hand: httpx's ASGI transport would do it, but httpx is a test dependency."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/-warm-up-",
        "raw_path": b"/-warm-up-",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    status = 0

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(str(message["status"]))

    try:
        await app(scope, receive, send)  # type: ignore[arg-type]
    except Exception as exc:
        log.warning("route warm-up before serving failed: %s", type(exc).__name__)
    return status


async def _tick_every(stores: Stores, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await anyio.to_thread.run_sync(tick_all, stores)
        except Exception as exc:  # the next minute tries again; the reason goes to the log
            log.error("case tick failed: %s", type(exc).__name__)


def create_app(
    stores: Stores, threads: int = THREADS, tick_seconds: float | None = TICK_SECONDS
) -> FastAPI:
    """Build the ASGI app over open stores, serving at most ``threads`` requests at once
    and running the case tick every ``tick_seconds`` (None: never, for tests)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        await anyio.to_thread.run_sync(warm_up, stores, threads)
        await warm_routes(_app)
        ticking = asyncio.create_task(_tick_every(stores, tick_seconds)) if tick_seconds else None
        try:
            yield
        finally:
            if ticking is not None:
                ticking.cancel()
            from phiwarden.web import audit_anchor

            try:
                audit_anchor.anchor(stores.engine, stores.settings, "shutdown")
            except Exception as exc:  # the server is stopping: say so, do not hide the stop
                log.error("audit anchor at shutdown failed: %s", type(exc).__name__)

    app = FastAPI(
        lifespan=lifespan,
        title="phiwarden",
        version=__version__,
        description="Access monitoring, identity-theft red flags and casework. "
        "Authenticate with a bearer token from 'phiwarden users token NAME'.",
    )
    app.state.stores = stores
    #: sign-in attempts per address, for this server process
    app.state.signin_limiter = RateLimiter()

    app.add_middleware(SessionMiddleware, stores=stores)

    @app.exception_handler(SignInRequired)
    async def to_signin(_request: Request, _exc: SignInRequired) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(Exception)
    async def no_details(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse({"detail": "internal error: see the server log"}, 500)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        """Liveness: the process answers and reaches its database."""
        repo.ping(stores.engine)
        return {"status": "ok", "version": __version__}

    app.include_router(api_router())
    app.include_router(case_pages_router)
    app.include_router(breach_pages_router)
    app.include_router(notify_pages_router)
    app.include_router(investigation_pages_router)
    app.include_router(program_pages_router)
    app.include_router(pages_router)
    return app


def app_from_environment() -> FastAPI:
    """The app over the stores the environment names (PHIWARDEN_DATA_DIR,
    PHIWARDEN_DATABASE_URL, PHIWARDEN_KEY_FILE, PHIWARDEN_THREADS): what each worker
    process of ``phiwarden serve --workers N`` builds for itself."""
    import os

    from phiwarden.config import load_settings
    from phiwarden.store.setup import open_stores

    threads = int(os.environ.get("PHIWARDEN_THREADS") or THREADS)
    return create_app(with_pool_for(open_stores(load_settings()), threads), threads)
