"""What every page shares: the templates, the sign-in and permission dependency, the
header's links for the role, rendering with the session's CSRF token, and checking it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from phiwarden import __version__
from phiwarden.web.api.deps import Caller
from phiwarden.web.roles import Permission, allowed

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


class SignInRequired(Exception):
    """Raised by a page dependency when no session is present."""


def page(permission: Permission) -> Any:
    """A page dependency: a signed-in user holding ``permission``."""

    def check(request: Request) -> Caller:
        user = getattr(request.state, "user", None)
        if user is None:
            raise SignInRequired()
        if not allowed(user.role, permission):
            raise HTTPException(403, f"the role {user.role} may not {permission.value}")
        source = request.client.host if request.client else "unknown"
        return Caller(user.name, user.role, source)

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


#: the header's links and the permission each needs: a role sees only what it may open
NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/", "Dashboard", Permission.STATUS),
    ("/alerts", "Alerts", Permission.ALERTS_READ),
    ("/flags", "Red flags", Permission.FLAGS_READ),
    ("/cases", "Cases", Permission.CASES_READ),
    ("/incidents", "Incidents", Permission.BREACH_READ),
    ("/callcenter", "Call centre", Permission.LOOKUP),
    ("/callers", "Refill callers", Permission.CALLER_VERIFY),
    ("/sanctions", "Sanctions", Permission.SANCTIONS_READ),
    ("/program", "Program", Permission.PROGRAM_READ),
    ("/tasks", "Tasks", Permission.TASKS_SIGN),
    ("/screen", "Screening", Permission.SCREEN),
    ("/billing", "Billing", Permission.BILLING_READ),
)


def render(request: Request, name: str, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    nav = [(h, label) for h, label, p in NAV if user is not None and allowed(user.role, p)]
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "nav": nav,
            "csrf": getattr(request.state, "csrf", ""),
            "version": __version__,
            **context,
        },
    )


def check_csrf(request: Request, token: str) -> None:
    if not token or not secrets.compare_digest(token, getattr(request.state, "csrf", "")):
        raise HTTPException(403, "the form is stale: reload the page and try again")


def refused(back: str, run: Callable[[], Any]) -> RedirectResponse | None:
    """Run a change from a form: None when it went through, else a redirect to ``back``
    carrying the reason it was refused (a 404 is raised as it is)."""
    from urllib.parse import quote

    from phiwarden.web.api.cases import answering

    try:
        with answering():
            run()
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        detail = exc.detail["message"] if isinstance(exc.detail, dict) else str(exc.detail)
        joiner = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{joiner}error={quote(detail[:400])}", status_code=303)
    return None


def form_change(
    request: Request,
    caller: Caller,
    back: str,
    run: Callable[[], Any],
    audit: tuple[str, str, str | None, dict[str, Any] | None],
) -> RedirectResponse:
    """A change made from a form: run it; if refused, back to ``back`` with the reason;
    else write ``audit`` (action, object type, id, detail) to the audit trail and go back."""
    from phiwarden.web.api.deps import record, stores_of

    sent_back = refused(back, run)
    if sent_back is not None:
        return sent_back
    action, object_type, object_id, detail = audit
    record(stores_of(request), caller, action, object_type, object_id, detail)
    return RedirectResponse(back, status_code=303)
