"""The Ibis backend factory: one call gives a DuckDB or Spark connection for the lake.

Analyses are written once as Ibis expressions and run on whichever backend this returns:

- ``duckdb`` (default): an in-memory DuckDB. ``PHIWARDEN_DUCKDB_THREADS`` and
  ``PHIWARDEN_DUCKDB_MEMORY_LIMIT`` (e.g. ``4GB``) cap it; otherwise DuckDB uses every
  core and 80 % of RAM.
- ``spark``: PySpark 4.0 through Ibis's pyspark backend (the ``[spark]`` extra and Java 17).
  The master decides where it runs: ``local[N]`` in this process (default ``local[2]``),
  ``spark://host:7077`` a standalone cluster, ``sc://host:15002`` Spark Connect to a
  remote server (needs the connect client: ``pip install 'pyspark[connect]>=4.0,<4.1'``).

The Spark session always uses time zone UTC: the lake's timestamps are naive wall-clock
times, and Spark would otherwise shift values it converts between zones. It also loads
Splink's string-similarity jar (shipped inside the splink wheel), so the identity linkage
runs in the same session as the lake analyses.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import ibis
from ibis.backends import BaseBackend

from phiwarden.config import ENGINES, Settings

DEFAULT_SPARK_MASTER = "local[2]"
DUCKDB_THREADS_ENV = "PHIWARDEN_DUCKDB_THREADS"
DUCKDB_MEMORY_ENV = "PHIWARDEN_DUCKDB_MEMORY_LIMIT"
SPARK_EXTRA_HINT = "install the spark extra: pip install 'phiwarden[spark]'"
SPARK_CONNECT_HINT = "install the Spark Connect client: pip install 'pyspark[connect]>=4.0,<4.1'"

#: Settings for a small machine (2 cores): few shuffle partitions, no web UI, UTC.
SPARK_DEFAULTS: Mapping[str, str] = {
    "spark.app.name": "phiwarden",
    "spark.driver.memory": "2g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.default.parallelism": "4",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}

#: Spark sessions this module created, by backend id, so ``stop`` ends only those.
_OWNED_SESSIONS: dict[int, Any] = {}


def connect(
    engine: str | Settings = "duckdb",
    *,
    spark_master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
) -> BaseBackend:
    """Open an Ibis backend for the lake: ``"duckdb"``, ``"spark"``, or a Settings' engine.

    ``spark_master`` defaults to the settings' master, else ``local[2]``; ``spark_conf``
    entries override :data:`SPARK_DEFAULTS`. Close it with :func:`stop` (or use
    :func:`open_backend`).
    """
    if isinstance(engine, Settings):
        spark_master = spark_master or engine.spark_master
        engine = engine.engine
    if engine == "duckdb":
        return _connect_duckdb()
    if engine == "spark":
        return _connect_spark(spark_master or DEFAULT_SPARK_MASTER, spark_conf or {})
    raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


def stop(backend: BaseBackend) -> None:
    """Release a backend from :func:`connect`: stop a Spark session only if we created it.

    A second ``connect("spark")`` in the same process reuses the running session (Spark
    allows one per process) and does not own it: stopping the first backend ends both.
    """
    session = _OWNED_SESSIONS.pop(id(backend), None)
    if session is not None:
        session.stop()
    elif backend.name == "duckdb":
        backend.disconnect()


@contextlib.contextmanager
def open_backend(
    engine: str | Settings = "duckdb",
    *,
    spark_master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
) -> Iterator[BaseBackend]:
    """``with open_backend("spark") as con:`` — :func:`connect`, then :func:`stop` on exit."""
    backend = connect(engine, spark_master=spark_master, spark_conf=spark_conf)
    try:
        yield backend
    finally:
        stop(backend)


def _connect_duckdb() -> BaseBackend:
    """An in-memory DuckDB, capped by the environment if asked."""
    config: dict[str, Any] = {}
    threads = os.environ.get(DUCKDB_THREADS_ENV, "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"{DUCKDB_THREADS_ENV} must be a positive integer, got {threads!r}")
        config["threads"] = int(threads)
    memory = os.environ.get(DUCKDB_MEMORY_ENV, "").strip()
    if memory:
        config["memory_limit"] = memory
    return ibis.duckdb.connect(**config)


def _similarity_jar() -> dict[str, str]:
    """``spark.jars`` for Splink's Jaro-Winkler UDFs, when splink is installed."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return {}
    return {"spark.jars": similarity_jar_location()}


def spark_session(backend: BaseBackend) -> Any:
    """The SparkSession behind a ``connect("spark")`` backend."""
    return backend._session


def _connect_spark(master: str, conf: Mapping[str, str]) -> BaseBackend:
    """Build or reuse a SparkSession for ``master`` and wrap it in Ibis's pyspark backend."""
    try:
        import ibis.backends.pyspark  # fails without the pyspark extra
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError(f"the spark engine needs PySpark: {SPARK_EXTRA_HINT}") from exc

    settings = {**SPARK_DEFAULTS, **_similarity_jar(), **conf}
    created = False
    if master.startswith("sc://"):
        session = _remote_session(SparkSession, master, settings)
        created = True
    else:
        session = SparkSession.getActiveSession()
        if session is None:
            if master.startswith("local"):
                # Bind the driver to loopback: hosts whose name resolves to an unreachable
                # address otherwise hang or warn. Not for clusters, whose executors must
                # reach the driver.
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
                # Python work on executors (the breach scan) runs in this interpreter,
                # whose environment has phiwarden installed.
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = SparkSession.builder.master(master)
            for key, value in settings.items():
                builder = builder.config(key, value)
            try:
                session = builder.getOrCreate()
            except PySparkException as exc:
                raise RuntimeError(
                    f"could not start Spark (master {master!r}): {exc}. Spark needs Java 17 "
                    "on PATH or JAVA_HOME (e.g. apt-get install openjdk-17-jre-headless)"
                ) from exc
            created = True
        else:
            # A session already runs in this process; only runtime SQL settings can change.
            for key, value in settings.items():
                if key.startswith("spark.sql."):
                    session.conf.set(key, value)
    backend = ibis.pyspark.connect(session)
    if created:
        _OWNED_SESSIONS[id(backend)] = session
    return backend


def _remote_session(session_cls: Any, url: str, settings: Mapping[str, str]) -> Any:
    """A Spark Connect session to ``url``; only ``spark.sql.*`` settings apply remotely."""
    try:
        builder = session_cls.builder.remote(url)
        for key, value in settings.items():
            if key.startswith("spark.sql."):
                builder = builder.config(key, value)
        return builder.getOrCreate()
    except ImportError as exc:
        raise ImportError(
            f"Spark Connect master {url!r} needs more packages: {SPARK_CONNECT_HINT}"
        ) from exc


__all__ = [
    "DEFAULT_SPARK_MASTER",
    "SPARK_DEFAULTS",
    "connect",
    "open_backend",
    "stop",
]
