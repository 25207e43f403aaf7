"""phiwarden's local users: argon2 passwords, lock-out, and bearer tokens for systems.

A user who fails to sign in ``MAX_FAILURES`` times in a row is locked for
``LOCK_MINUTES``; a success resets the count. Tokens are random, shown once, and kept
only as SHA-256 hashes; revoking one sets ``revoked_at``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, Row, insert, select, update

from phiwarden.store.web_tables import api_tokens, users
from phiwarden.web.roles import Role

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 12
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class User:
    """A signed-in (or token-bearing) user."""

    user_id: int
    name: str
    role: str


class AuthError(ValueError):
    """Wrong name or password, a locked or disabled user, or a dead token."""


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def sha256(value: str) -> str:
    """Hex SHA-256 of a secret, the only form tokens and session ids are stored in."""
    return hashlib.sha256(value.encode()).hexdigest()


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """Create a user; clear errors for a taken name, an unknown role, a short password."""
    try:
        role = Role(role).value
    except ValueError as exc:
        raise ValueError(
            f"unknown role {role!r}: use one of {', '.join(r.value for r in Role)}"
        ) from exc
    if not name or not name.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise ValueError("a user name is letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        if conn.execute(select(users.c.user_id).where(users.c.name == name)).first():
            raise ValueError(f"a user named {name!r} exists already")
        result = conn.execute(
            insert(users).values(
                name=name,
                role=role,
                password_hash=_HASHER.hash(password),
                created_at=_now(),
                failed_logins=0,
                disabled=False,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return User(int(key[0]), name, role)


def authenticate(engine: Engine, name: str, password: str) -> User:
    """The user for a correct name and password; AuthError otherwise (same message for
    an unknown name and a wrong password, so names cannot be probed). A failure is
    counted in its own committed transaction before the error is raised."""
    now = _now()
    failure: str | None = None
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is None or row["disabled"]:
            _HASHER.hash(password)  # spend the same time as a real check
            failure = "wrong name or password"
        elif row["locked_until"] and row["locked_until"] > now:
            failure = f"too many failed sign-ins: locked until {row['locked_until']:%H:%M}"
        else:
            try:
                _HASHER.verify(row["password_hash"] or "", password)
            except (VerificationError, InvalidHashError):
                failures = int(row["failed_logins"] or 0) + 1
                values: dict[str, Any] = {"failed_logins": failures}
                if failures >= MAX_FAILURES:
                    values = {
                        "failed_logins": 0,
                        "locked_until": now + timedelta(minutes=LOCK_MINUTES),
                    }
                conn.execute(update(users).where(users.c.user_id == row["user_id"]).values(values))
                failure = "wrong name or password"
            else:
                conn.execute(
                    update(users)
                    .where(users.c.user_id == row["user_id"])
                    .values(failed_logins=0, locked_until=None)
                )
    if failure is not None or row is None:
        raise AuthError(failure or "wrong name or password")
    return User(int(row["user_id"]), row["name"], row["role"])


def set_password(engine: Engine, name: str, password: str) -> None:
    """Replace a user's password and clear any lock-out."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        done = conn.execute(
            update(users)
            .where(users.c.name == name)
            .values(password_hash=_HASHER.hash(password), failed_logins=0, locked_until=None)
        ).rowcount
    if not done:
        raise ValueError(f"no user named {name!r}")


def issue_token(engine: Engine, name: str) -> tuple[str, str]:
    """A new bearer token for a user: (token id, the token itself, shown only now)."""
    token = "pw_" + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(6)
    with engine.begin() as conn:
        row = conn.execute(select(users.c.user_id).where(users.c.name == name)).first()
        if row is None:
            raise ValueError(f"no user named {name!r}: add one with 'phiwarden users add'")
        conn.execute(
            insert(api_tokens).values(
                token_id=token_id, user_id=row[0], token_hash=sha256(token), created_at=_now()
            )
        )
    return token_id, token


def revoke_token(engine: Engine, token_id: str) -> None:
    """Revoke a token by its id; a clear error if there is no live one."""
    with engine.begin() as conn:
        done = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        ).rowcount
    if not done:
        raise ValueError(f"no live token {token_id}: see 'phiwarden users tokens'")


#: how stale a token's last-used time may get: writing it on every request would make each
#: call from one system queue on that row's lock and a commit
LAST_USED_EVERY = timedelta(minutes=1)


def _live_token(conn: Connection, token_hash: str) -> Row[Any, Any, Any, Any, Any] | None:
    return conn.execute(
        select(
            users.c.user_id,
            users.c.name,
            users.c.role,
            api_tokens.c.token_id,
            api_tokens.c.last_used_at,
        )
        .select_from(api_tokens.join(users, users.c.user_id == api_tokens.c.user_id))
        .where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.revoked_at.is_(None),
            users.c.disabled.is_(False),
        )
    ).first()


def warm_sign_in(conn: Connection) -> None:
    """Run the bearer-token lookup once for a token nobody has (the server's warm-up)."""
    _live_token(conn, sha256(secrets.token_urlsafe(16)))


def token_user(engine: Engine, token: str) -> User:
    """The user a live bearer token belongs to; AuthError for an unknown or revoked one."""
    with engine.begin() as conn:
        row = _live_token(conn, sha256(token))
        if row is None:
            raise AuthError("unknown or revoked token")
        now = _now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.token_id == row.token_id)
                .values(last_used_at=now)
            )
        return User(int(row.user_id), row.name, row.role)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Users with their live token ids (no hashes)."""
    with engine.connect() as conn:
        people = (
            conn.execute(
                select(
                    users.c.user_id,
                    users.c.name,
                    users.c.role,
                    users.c.created_at,
                    users.c.locked_until,
                    users.c.disabled,
                ).order_by(users.c.name)
            )
            .mappings()
            .all()
        )
        live = conn.execute(
            select(api_tokens.c.user_id, api_tokens.c.token_id).where(
                api_tokens.c.revoked_at.is_(None)
            )
        ).all()
    tokens: dict[int, list[str]] = {}
    for uid, tid in live:
        tokens.setdefault(int(uid), []).append(str(tid))
    return [{**dict(p), "tokens": tokens.get(int(p["user_id"]), [])} for p in people]
