"""Shared fixtures: both operational databases, settings in a temp folder, a small hospital."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ibis.backends import BaseBackend

from phiwarden.config import Settings, load_settings
from phiwarden.lake import connect, stop
from phiwarden.store.setup import Stores, initialise

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

#: The PostgreSQL server the tests run against (trust auth on this machine and in CI).
PG_ADMIN = os.environ.get(
    "PHIWARDEN_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


@contextlib.contextmanager
def database_url(kind: str, root: Path) -> Iterator[str]:
    """A store URL for a module-scoped fixture: a SQLite file in ``root``, or a new
    PostgreSQL database dropped on exit."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'store.db'}"
        return
    name = f"phiwarden_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN.split())
    try:
        yield (
            f"postgresql+psycopg://{params.get('user', 'postgres')}@"
            f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with database_url("postgres", tmp_path) as url:
        yield url


def ingest_and_scan(stores: Stores, hospital: Path) -> None:
    """Ingest a synthetic hospital's canonical files and scan them for red flags: what the
    casework tests start from (no monitoring or linkage needed)."""
    from phiwarden.ingest.run import run_ingest
    from phiwarden.redflags.scan import run_scan

    run_ingest(
        [hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    run_scan(stores)


def analyse(stores: Stores, hospital: Path) -> None:
    """Ingest a synthetic hospital's canonical files and run every analysis the pages
    show: readiness, monitoring, linkage of the patient index, the red-flag scan."""
    from phiwarden.identity.run import link_patient_index
    from phiwarden.ingest.run import run_ingest
    from phiwarden.monitor import run_monitor
    from phiwarden.monitor.readiness import refresh
    from phiwarden.redflags.scan import run_scan

    run_ingest(
        [hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    refresh(stores)
    run_monitor(stores)
    link_patient_index(stores)
    run_scan(stores)


def run_cli(stores: Stores, *args: str) -> subprocess.CompletedProcess[str]:
    """``phiwarden --data-dir ... --database-url ... ARGS`` as its own process."""
    exe = str(Path(sys.executable).parent / "phiwarden")
    base = [exe, "--data-dir", str(stores.settings.data_dir)]
    base += ["--database-url", stores.settings.database_url]
    return subprocess.run([*base, *args], capture_output=True, text=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The browser tests need Debian's chromium: without it they fail, saying so, unless
    SKIP_BROWSER=1 asks to skip them (a skip must be asked for, never silent)."""
    chromium = Path(os.environ.get("PHIWARDEN_CHROMIUM") or "/usr/bin/chromium")
    if item.get_closest_marker("e2e") is None or chromium.exists():
        return
    reason = f"needs Debian's chromium at {chromium} (apt-get install chromium)"
    if os.environ.get("SKIP_BROWSER") == "1":
        pytest.skip(f"{reason}; skipped because SKIP_BROWSER=1")
    pytest.fail(f"{reason}; run with SKIP_BROWSER=1 to skip the browser tests instead", False)


@contextlib.contextmanager
def analysed(kind: str, root: Path, hospital: Path) -> Iterator[Stores]:
    """Stores on SQLite or PostgreSQL (``kind``) in ``root`` with ``hospital`` ingested and
    every analysis run: what a module-scoped fixture of the pages and the program shares."""
    with database_url(kind, root) as url:
        stores, _ = initialise(load_settings(root / "data", url))
        analyse(stores, hospital)
        try:
            yield stores
        finally:
            stores.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The operational store URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings with the data folder in tmp_path and the parametrised database."""
    return load_settings(tmp_path / "data", db_url)


@pytest.fixture
def stores(settings: Settings) -> Stores:
    """Initialised stores (key file, migrated database, lake folder)."""
    result, _ = initialise(settings)
    return result


@pytest.fixture(scope="session")
def small_hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic hospital (canonical only), generated once per test session."""
    from phiwarden.synth import generate
    from phiwarden.synth.spec import SynthSpec

    out = tmp_path_factory.mktemp("hospital")
    spec = SynthSpec(patients=300, workforce=50, days=7, seed=11, formats=("canonical",))
    generate(out, spec)
    return out


def signals_table(rows: list[tuple[str, str, str]]) -> Any:
    """A monitor signals table (code, user_id, patient_id, factor 1.0, detail) for scoring."""
    import pyarrow as pa

    return pa.table(
        {
            "code": [r[0] for r in rows],
            "user_id": [r[1] for r in rows],
            "patient_id": [r[2] for r in rows],
            "factor": [1.0] * len(rows),
            "detail": ["x"] * len(rows),
        }
    )


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, BaseBackend]]:
    """Lake engines opened once per module (Spark starts slowly), stopped at the end."""
    opened: dict[str, BaseBackend] = {}
    yield opened
    for backend in opened.values():
        stop(backend)


def backend_for(engine: str, backends: dict[str, BaseBackend]) -> BaseBackend:
    """The module's ``engine`` backend, opened on first use (Spark skips without pyspark)."""
    if engine == "spark":
        pytest.importorskip("pyspark")
    if engine not in backends:
        backends[engine] = connect(engine)
    return backends[engine]
