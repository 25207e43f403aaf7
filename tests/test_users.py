"""phiwarden's own users: argon2 passwords, lock-out, bearer tokens, roles, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from phiwarden.store.setup import Stores
from phiwarden.store.web_tables import api_tokens, users
from phiwarden.web.roles import MATRIX, Permission, Role, allowed
from phiwarden.web.users import (
    LAST_USED_EVERY,
    MAX_FAILURES,
    AuthError,
    add_user,
    authenticate,
    issue_token,
    revoke_token,
    token_user,
)

PASSWORD = "correct horse battery"


def test_password_is_hashed_and_checked(stores: Stores) -> None:
    user = add_user(stores.engine, "alice", "privacy_officer", PASSWORD)
    with stores.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert PASSWORD not in stored and stored.startswith("$argon2")
    assert authenticate(stores.engine, "alice", PASSWORD) == user
    with pytest.raises(AuthError, match="wrong name or password"):
        authenticate(stores.engine, "alice", "not the password")
    with pytest.raises(AuthError, match="wrong name or password"):
        authenticate(stores.engine, "nobody", PASSWORD)


def test_bad_users_are_refused(stores: Stores) -> None:
    add_user(stores.engine, "alice", "auditor", PASSWORD)
    with pytest.raises(ValueError, match="exists already"):
        add_user(stores.engine, "alice", "auditor", PASSWORD)
    with pytest.raises(ValueError, match="unknown role"):
        add_user(stores.engine, "bob", "superuser", PASSWORD)
    with pytest.raises(ValueError, match="at least 12"):
        add_user(stores.engine, "bob", "auditor", "short")


def test_lock_out_after_repeated_failures(stores: Stores) -> None:
    add_user(stores.engine, "alice", "investigator", PASSWORD)
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            authenticate(stores.engine, "alice", "wrong")
    with pytest.raises(AuthError, match="locked until"):
        authenticate(stores.engine, "alice", PASSWORD)
    with stores.engine.begin() as conn:
        conn.execute(update(users).values(locked_until=None))
    assert authenticate(stores.engine, "alice", PASSWORD).name == "alice"


def test_tokens_are_stored_hashed_and_can_be_revoked(stores: Stores) -> None:
    add_user(stores.engine, "frontdesk", "registrar", PASSWORD)
    token_id, token = issue_token(stores.engine, "frontdesk")
    with stores.engine.connect() as conn:
        hashes = conn.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert token not in hashes
    assert token_user(stores.engine, token).role == "registrar"
    revoke_token(stores.engine, token_id)
    with pytest.raises(AuthError):
        token_user(stores.engine, token)
    with pytest.raises(ValueError, match="no live token"):
        revoke_token(stores.engine, token_id)
    with pytest.raises(ValueError, match="no user"):
        issue_token(stores.engine, "nobody")


def test_token_last_use_is_written_at_most_once_a_minute(stores: Stores) -> None:
    # every call from a busy system would otherwise queue on the token row's lock
    add_user(stores.engine, "frontdesk", "registrar", PASSWORD)
    token_id, token = issue_token(stores.engine, "frontdesk")

    def last_used() -> datetime | None:
        with stores.engine.connect() as conn:
            return conn.execute(
                select(api_tokens.c.last_used_at).where(api_tokens.c.token_id == token_id)
            ).scalar_one()

    token_user(stores.engine, token)
    first = last_used()
    assert first is not None
    stale = first - LAST_USED_EVERY - timedelta(seconds=1)
    with stores.engine.begin() as conn:
        conn.execute(update(api_tokens).values(last_used_at=first - timedelta(seconds=5)))
    token_user(stores.engine, token)
    assert last_used() == first - timedelta(seconds=5), "rewritten within the minute"
    with stores.engine.begin() as conn:
        conn.execute(update(api_tokens).values(last_used_at=stale))
    token_user(stores.engine, token)
    assert last_used() >= first  # type: ignore[operator]


def test_every_permission_is_declared_and_deny_by_default() -> None:
    assert set(MATRIX) == set(Permission)
    assert allowed("privacy_officer", Permission.SSN_REVEAL)
    assert not allowed("auditor", Permission.ALERTS_DECIDE)
    assert not allowed("registrar", Permission.AUDIT_READ)
    assert not allowed("nobody", Permission.STATUS)
    # the auditor is read-only
    writes = {
        Permission.ALERTS_DECIDE,
        Permission.FLAGS_RESOLVE,
        Permission.WATCH_EDIT,
        Permission.USERS_ADMIN,
        Permission.SSN_REVEAL,
        Permission.SCREEN,
    }
    assert not any(allowed(Role.AUDITOR, p) for p in writes)


def test_cli_users(tmp_path: Path) -> None:
    exe = [str(Path(sys.executable).parent / "phiwarden")]
    base = [*exe, "--data-dir", str(tmp_path / "d")]
    subprocess.run([*base, "init"], check=True, capture_output=True)
    added = subprocess.run(
        [*base, "users", "add", "carol", "--role", "billing"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    short = subprocess.run(
        [*base, "users", "add", "dave", "--role", "billing"],
        input="short\n",
        capture_output=True,
        text=True,
    )
    assert short.returncode == 1 and "at least 12" in short.stderr and short.stdout == ""
    token = subprocess.run([*base, "users", "token", "carol"], capture_output=True, text=True)
    assert token.returncode == 0 and token.stdout.strip().startswith("pw_")
    assert PASSWORD not in token.stdout + token.stderr
