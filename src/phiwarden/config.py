"""Settings from the environment and command-line flags.

Environment variables (flags override them):

- ``PHIWARDEN_DATA_DIR``: where the embedded stores live (default ``./phiwarden-data``).
- ``PHIWARDEN_DATABASE_URL``: SQLAlchemy URL of the operational store (default: a SQLite
  file in the data directory; ``postgresql+psycopg://...`` for production).
- ``PHIWARDEN_KEY_FILE``: the key file for sensitive fields (default ``DATA/keys/phiwarden.key``).
- ``PHIWARDEN_ENGINE``: ``duckdb`` (default) or ``spark`` for the event lake analyses.
- ``PHIWARDEN_SPARK_MASTER``: Spark master URL (default ``local[2]``); a ``sc://`` URL uses
  Spark Connect to a remote cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


@dataclass(frozen=True)
class Settings:
    """Where phiwarden keeps its data and which engines it uses."""

    data_dir: Path
    database_url: str
    key_file: Path
    engine: Engine = "duckdb"
    spark_master: str = "local[2]"

    @property
    def lake_dir(self) -> Path:
        """Root of the event lake (Parquet partitioned by day)."""
        return self.data_dir / "lake"

    @property
    def spool_dir(self) -> Path:
        """Durable spool for events received by listeners before they reach the lake."""
        return self.data_dir / "spool"

    def with_engine(self, engine: str | None) -> Settings:
        """Return these settings with another analysis engine, validated."""
        if engine is None:
            return self
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        return replace(self, engine=engine)  # type: ignore[arg-type]


def load_settings(data_dir: Path | str | None = None, database_url: str | None = None) -> Settings:
    """Build settings from arguments, then the environment, then defaults."""
    env = os.environ
    root = Path(data_dir or env.get("PHIWARDEN_DATA_DIR") or "phiwarden-data").expanduser()
    root = root.resolve()
    url = database_url or env.get("PHIWARDEN_DATABASE_URL") or f"sqlite:///{root / 'phiwarden.db'}"
    key = Path(env.get("PHIWARDEN_KEY_FILE") or root / "keys" / "phiwarden.key").expanduser()
    engine = env.get("PHIWARDEN_ENGINE", "duckdb")
    settings = Settings(
        data_dir=root,
        database_url=url,
        key_file=key,
        spark_master=env.get("PHIWARDEN_SPARK_MASTER", "local[2]"),
    )
    return settings.with_engine(engine)
