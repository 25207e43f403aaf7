"""Open the stores for a command: key file, migrated database, lake folder."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from phiwarden.config import Settings
from phiwarden.store.db import describe, make_engine
from phiwarden.store.migrate import is_initialised, upgrade
from phiwarden.store.sensitive import Protector, create_key_file, load_protector


class NotInitialisedError(RuntimeError):
    """The stores were never set up with ``phiwarden init``."""


@dataclass(frozen=True)
class Stores:
    """Everything an analysis or a surface needs to reach the data."""

    settings: Settings
    engine: Engine
    protector: Protector


def initialise(settings: Settings) -> tuple[Stores, bool]:
    """Create the key file if missing, migrate the database, create the lake folder.

    Safe to run again: returns (stores, whether a new key file was created).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.lake_dir.mkdir(parents=True, exist_ok=True)
    created = create_key_file(settings.key_file)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return Stores(settings, engine, load_protector(settings.key_file)), created


def open_stores(settings: Settings) -> Stores:
    """Open initialised stores, or say to run ``phiwarden init``."""
    engine = make_engine(settings.database_url)
    if not is_initialised(engine):
        raise NotInitialisedError(
            f"the database {describe(settings.database_url)} is not set up: run 'phiwarden init'"
        )
    upgrade(engine)
    return Stores(settings, engine, load_protector(settings.key_file))
