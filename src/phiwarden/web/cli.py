"""``phiwarden serve``, ``phiwarden users`` and ``phiwarden audit``: serving the pages and
API, phiwarden's own users and tokens, and its audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from phiwarden.cli_common import USER_ERRORS, out
from phiwarden.cli_common import one_line as _one_line
from phiwarden.cli_common import print_json as _print_json
from phiwarden.cli_common import stores as _stores
from phiwarden.console import fail
from phiwarden.store.setup import Stores

users_app = typer.Typer(help="phiwarden's own users, roles and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="phiwarden's own audit trail.", no_args_is_help=True)


def _password() -> str:
    """The password from standard input when piped, else asked twice at the terminal."""
    import sys

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        fail("the passwords differ")
    return str(first)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[
        str,
        typer.Option(help="admin | privacy_officer | investigator | registrar | billing | auditor"),
    ],
) -> None:
    """Add a user; the password is read from standard input or asked for."""
    from phiwarden.web.users import add_user

    stores = _stores()
    try:
        user = add_user(stores.engine, name, role, _password())
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"added {user.name} ({user.role})")


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
    """Print a new API bearer token for a user (shown once; stored only as a hash)."""
    from phiwarden.web.users import issue_token

    try:
        token_id, token = issue_token(_stores().engine, name)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    typer.echo(token)
    typer.echo(f"token id {token_id}: revoke with 'phiwarden users revoke {token_id}'", err=True)


@users_app.command("revoke")
def users_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    from phiwarden.web.users import revoke_token

    try:
        revoke_token(_stores().engine, token_id)
    except USER_ERRORS as exc:
        fail(_one_line(exc))
    out.print(f"revoked {token_id}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, their roles and live token ids."""
    from phiwarden.web.users import list_users

    people = list_users(_stores().engine)
    if as_json:
        _print_json({"users": people})
        return
    for p in people:
        state = " (disabled)" if p["disabled"] else ""
        out.print(f"{p['name']:<20} {p['role']:<16} tokens: {', '.join(p['tokens']) or '-'}{state}")


@audit_app.command("verify")
def audit_verify(
    anchors: Annotated[
        Path | None,
        typer.Option(help="Anchor lines to check against (default: the anchor file, if any)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the audit trail's hash chain and its anchors: exits 1 naming the first changed
    or missing entry, or the truncation an anchor shows."""
    from phiwarden.web import audit_anchor
    from phiwarden.web.audit import verify

    stores = _stores()
    verdict = verify(stores.engine)
    where = anchors or Path(audit_anchor.target(stores.settings))
    if anchors is not None and not anchors.is_file():
        fail(f"no anchor file {anchors}")
    found = audit_anchor.read(where) if where.is_file() else []
    anchored = audit_anchor.check(stores.engine, found)
    ok = verdict.ok and anchored.problem is None
    reason = verdict.reason or anchored.problem
    if as_json:
        _print_json(
            {
                "entries": verdict.entries,
                "anchors": anchored.checked,
                "ok": ok,
                "broken_at": verdict.broken_at or anchored.broken_at,
                "reason": reason,
            }
        )
    elif ok:
        out.print(
            f"audit trail intact: {verdict.entries:,} entries, {anchored.checked:,} anchor(s) "
            f"matched" + ("" if found else f" (no anchors at {where})")
        )
    if not ok:
        fail(f"audit trail broken: {reason}")


@audit_app.command("anchor")
def audit_anchor_now(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Write the audit trail's head to the anchor target now (run it from cron)."""
    from phiwarden.web import audit_anchor

    stores = _stores()
    made = audit_anchor.anchor(stores.engine, stores.settings, "on demand")
    where = audit_anchor.target(stores.settings)
    if as_json:
        _print_json({"seq": made.seq if made else None, "target": where})
        return
    out.print(f"anchored entry {made.seq} to {where}" if made else "the audit trail is empty")


def serve(
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (one per core for a busy front desk; each has its own "
            "sign-in rate limit).",
        ),
    ] = 1,
    threads: Annotated[
        int,
        typer.Option(min=1, help="Requests each worker serves at once; more wait their turn."),
    ] = 8,
) -> None:
    """Serve the web UI and API."""
    serve_stores(_stores(), host, port, workers, threads)


def serve_stores(stores: Stores, host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    """Run uvicorn over ``stores``: in this process, or in ``workers`` processes that each
    open the same stores from the environment."""
    import os

    import uvicorn

    from phiwarden.web.app import create_app, with_pool_for

    out.print(f"serving on http://{host}:{port}/ with {workers} worker(s) (Ctrl-C to stop)")
    # No access log: request paths carry MRNs, and PHI stays out of logs.
    quiet: dict[str, Any] = {"log_level": "warning", "access_log": False}
    if workers == 1:
        stores = with_pool_for(stores, threads)
        uvicorn.run(create_app(stores, threads), host=host, port=port, **quiet)
        return
    # Each worker process opens the same stores, named through the environment.
    settings = stores.settings
    os.environ["PHIWARDEN_DATA_DIR"] = str(settings.data_dir)
    os.environ["PHIWARDEN_DATABASE_URL"] = settings.database_url
    os.environ["PHIWARDEN_KEY_FILE"] = str(settings.key_file)
    os.environ["PHIWARDEN_THREADS"] = str(threads)
    stores.engine.dispose()
    uvicorn.run(
        "phiwarden.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **quiet,
    )
