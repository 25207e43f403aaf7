r"""Settings from the environment and command-line flags.

Environment variables (flags override them):

- ``PHIWARDEN_DATA_DIR``: where the embedded stores live (default ``./phiwarden-data``).
- ``PHIWARDEN_DATABASE_URL``: SQLAlchemy URL of the operational store (default: a SQLite
  file in the data directory; ``postgresql+psycopg://...`` for production).
- ``PHIWARDEN_KEY_FILE``: the key file for sensitive fields (default ``DATA/keys/phiwarden.key``).
- ``PHIWARDEN_ENGINE``: ``duckdb`` (default) or ``spark`` for the event lake analyses.
- ``PHIWARDEN_SPARK_MASTER``: Spark master URL (default ``local[2]``); a ``sc://`` URL uses
  Spark Connect to a remote cluster.
- ``PHIWARDEN_CONFIG_DIR``: the hospital's own procedure and casework files (default
  ``DATA/config``).
- ``PHIWARDEN_EVIDENCE_DIR``: the folder the pages may scan for a breach (mailbox exports,
  file shares, business associates' lists; default ``DATA/evidence``): the web UI scans
  only what is under it.
- ``PHIWARDEN_MRN_PATTERN``: the hospital's MRN as a regular expression, for breach scans
  (default ``\d{6,10}``).
- ``PHIWARDEN_BASE_URL``: the address of phiwarden's pages, for links in e-mails.
- ``PHIWARDEN_SMTP_HOST``, ``_PORT`` (25), ``_TLS`` (``none`` | ``starttls`` | ``ssl``),
  ``_USER``, ``_PASSWORD``, ``_FROM``: the mail server for task notices; without a host
  no e-mail is sent and tasks show only in the pages and the API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[str, ...] = ("duckdb", "spark")


@dataclass(frozen=True)
class Smtp:
    """The mail server task notices go through."""

    host: str
    port: int = 25
    tls: Literal["none", "starttls", "ssl"] = "none"
    user: str | None = None
    password: str | None = None
    sender: str = "phiwarden@localhost"


def smtp_from_environment() -> Smtp | None:
    """The SMTP settings the environment gives, or None when no host is set."""
    env = os.environ
    host = env.get("PHIWARDEN_SMTP_HOST")
    if not host:
        return None
    tls = env.get("PHIWARDEN_SMTP_TLS", "none")
    if tls not in ("none", "starttls", "ssl"):
        raise ValueError(f"PHIWARDEN_SMTP_TLS={tls!r}: use none, starttls or ssl")
    return Smtp(
        host=host,
        port=int(env.get("PHIWARDEN_SMTP_PORT") or (465 if tls == "ssl" else 25)),
        tls=tls,  # type: ignore[arg-type]
        user=env.get("PHIWARDEN_SMTP_USER") or None,
        password=env.get("PHIWARDEN_SMTP_PASSWORD") or None,
        sender=env.get("PHIWARDEN_SMTP_FROM") or "phiwarden@localhost",
    )


@dataclass(frozen=True)
class Settings:
    """Where phiwarden keeps its data and which engines it uses."""

    data_dir: Path
    database_url: str
    key_file: Path
    engine: Engine = "duckdb"
    spark_master: str = "local[2]"
    config_dir: Path | None = None
    base_url: str = "http://127.0.0.1:8000"
    smtp: Smtp | None = None

    @property
    def hospital_config(self) -> Path:
        """The hospital's own procedure and casework files."""
        return self.config_dir or self.data_dir / "config"

    @property
    def evidence_dir(self) -> Path:
        """The folder the web UI may scan for a breach."""
        found = os.environ.get("PHIWARDEN_EVIDENCE_DIR")
        return Path(found).expanduser().resolve() if found else self.data_dir / "evidence"

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
        # Spark's own SPARK_REMOTE (a Spark Connect URL) applies when phiwarden's is unset
        spark_master=env.get("PHIWARDEN_SPARK_MASTER") or env.get("SPARK_REMOTE") or "local[2]",
        config_dir=Path(env["PHIWARDEN_CONFIG_DIR"]).expanduser()
        if env.get("PHIWARDEN_CONFIG_DIR")
        else None,
        base_url=env.get("PHIWARDEN_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        smtp=smtp_from_environment(),
    )
    return settings.with_engine(engine)
