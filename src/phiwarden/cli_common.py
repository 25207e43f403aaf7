"""What every command group shares: the global options, opening the stores, and the
one-line errors and JSON output the command-line contract promises."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from phiwarden.config import Settings, load_settings
from phiwarden.console import fail
from phiwarden.store.sensitive import KeyFileError
from phiwarden.store.setup import NotInitialisedError, Stores, open_stores

out = Console()

#: Errors that mean "the user has something to fix", printed as one line.
USER_ERRORS = (ValueError, FileNotFoundError, KeyFileError, NotInitialisedError, OperationalError)


class State:
    """Options given before the sub-command."""

    data_dir: Path | None = None
    database_url: str | None = None

    @classmethod
    def settings(cls) -> Settings:
        """Settings from the global options and the environment."""
        return load_settings(cls.data_dir, cls.database_url)


def stores() -> Stores:
    """The open stores, or a one-line error and exit 1."""
    try:
        return open_stores(State.settings())
    except USER_ERRORS as exc:
        fail(one_line(exc))


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (a database error's own message)."""
    text = str(exc.orig) if isinstance(exc, OperationalError) and exc.orig else str(exc)
    return " ".join(text.split())


def print_json(data: Any) -> None:
    """JSON on stdout and nothing else."""
    typer.echo(json.dumps(data, indent=2, default=str))


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's date (None when not given), or a one-line error and exit 1."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} is YYYY-MM-DD, not {value!r}")
