"""Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie, its SHA-256 in
the store with an absolute expiry and a CSRF token that every form must echo.

Sign-in attempts are rate limited per client address (``RATE`` in ``WINDOW`` seconds)
before any password is checked; repeated failures also lock the user (``users.py``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from phiwarden.store.web_tables import users, web_sessions
from phiwarden.web.users import User, sha256

COOKIE = "pw_session"
LIFETIME = timedelta(hours=8)
RATE = 10
WINDOW = 60.0


def create_session(engine: Engine, user: User) -> tuple[str, str]:
    """A new session for a signed-in user: (session id for the cookie, CSRF token)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(
            insert(web_sessions).values(
                session_hash=sha256(session_id),
                user_id=user.user_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    return session_id, csrf


def session_user(engine: Engine, session_id: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or None (unknown or expired)."""
    now = datetime.now()
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.user_id, users.c.name, users.c.role, web_sessions.c.csrf_token)
            .select_from(web_sessions.join(users, users.c.user_id == web_sessions.c.user_id))
            .where(
                web_sessions.c.session_hash == sha256(session_id),
                web_sessions.c.expires_at > now,
                users.c.disabled.is_(False),
            )
        ).first()
    if row is None:
        return None
    return User(int(row.user_id), row.name, row.role), str(row.csrf_token)


def end_session(engine: Engine, session_id: str) -> None:
    """Sign out: forget the session."""
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.session_hash == sha256(session_id)))


class RateLimiter:
    """At most ``rate`` events per ``window`` seconds per key (sign-ins per address)."""

    def __init__(self, rate: int = RATE, window: float = WINDOW) -> None:
        self.rate = rate
        self.window = window
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record an attempt; False when the key is over its limit."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if len(seen) >= self.rate:
                return False
            seen.append(now)
            return True
