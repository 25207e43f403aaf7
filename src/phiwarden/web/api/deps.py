"""What every API route shares: the caller, the permission it needs, and the audit trail.

A route depends on ``guard(Permission.X)``: the caller is identified by a bearer token
(systems) and must hold the permission (``web/roles.py``); otherwise 401 or 403, and
nothing else runs. Reads of patients, alerts, flags and cases and every decision are
written to the audit trail with who, what, when and from where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from phiwarden.store.setup import Stores
from phiwarden.web import audit, audit_anchor
from phiwarden.web.roles import Permission, allowed
from phiwarden.web.users import AuthError, token_user

_BEARER = HTTPBearer(auto_error=False)
#: the furthest a queue can be paged (databases refuse offsets past 64 bits)
MAX_OFFSET = 1_000_000_000
#: the largest row id or revision a route takes (a 32-bit INTEGER column)
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Caller:
    """Who is calling, in which role, from where."""

    name: str
    role: str
    source: str


def stores_of(request: Request) -> Stores:
    """The app's open stores."""
    found: Stores = request.app.state.stores
    return found


def guard(permission: Permission) -> Callable[..., Caller]:
    """A dependency that admits only callers holding ``permission``."""

    def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_BEARER),
    ) -> Caller:
        source = request.client.host if request.client else "unknown"
        session_user = getattr(request.state, "user", None)
        if session_user is not None:
            user = session_user
        elif credentials is not None:
            try:
                user = token_user(stores_of(request).engine, credentials.credentials)
            except AuthError as exc:
                raise HTTPException(401, str(exc), {"WWW-Authenticate": "Bearer"}) from exc
        else:
            raise HTTPException(
                401, "sign in or send a bearer token", {"WWW-Authenticate": "Bearer"}
            )
        if not allowed(user.role, permission):
            raise HTTPException(403, f"the role {user.role} may not {permission.value}")
        return Caller(user.name, user.role, source)

    check.permission = permission  # type: ignore[attr-defined]
    return check


def record(
    stores: Stores,
    caller: Caller,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry for the caller, one append at a time."""
    with audit.serialised(stores.engine), stores.engine.begin() as conn:
        seq = audit.append(
            conn,
            actor=caller.name,
            role=caller.role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            source=caller.source,
            detail=detail,
        )
    audit_anchor.after_append(stores.engine, stores.settings, seq)
