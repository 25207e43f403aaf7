"""The same analyses against a Spark Connect server (``sc://``, what a real cluster offers):
a local server is started from PySpark's own jars, the monitor runs through it, and its
alerts equal DuckDB's. Skipped, with the reason, only where the server cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phiwarden.config import load_settings
from phiwarden.ingest.run import run_ingest
from phiwarden.lake.engine import open_backend
from phiwarden.monitor import run_monitor
from phiwarden.store.setup import initialise
from test_monitor_engines import summary

pytestmark = pytest.mark.spark


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Spark Connect server on a free port; its ``sc://`` URL."""
    pyspark = pytest.importorskip("pyspark")
    home = Path(pyspark.__file__).parent
    submit = home / "bin" / "spark-submit"
    if not submit.exists() or not any((home / "jars").glob("spark-connect_*.jar")):
        pytest.skip("this PySpark has no spark-submit or Spark Connect jar to start a server")
    port = _free_port()
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(submit),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[2]",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
                "--conf",
                "spark.sql.session.timeZone=UTC",
                "spark-internal",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Spark Connect server started" not in log.read_text(errors="replace"):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-600:]
                pytest.skip(f"the Spark Connect server could not start: {tail}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_monitor_through_spark_connect_equals_duckdb(
    connect_server: str, small_hospital: Path, tmp_path: Path
) -> None:
    pytest.importorskip("grpc", reason="the Spark Connect client: pip install 'pyspark[connect]'")
    stores, _ = initialise(load_settings(tmp_path / "data", f"sqlite:///{tmp_path / 's.db'}"))
    run_ingest(
        [small_hospital / "canonical"],
        engine=stores.engine,
        protector=stores.protector,
        lake_dir=stores.settings.lake_dir,
    )
    duck = run_monitor(stores, save=False)
    with open_backend(stores.settings.with_engine("spark"), spark_master=connect_server) as con:
        assert type(con).__module__.startswith("ibis.backends.pyspark")
        remote = run_monitor(stores, con=con, save=False)
    assert duck.alerts and summary(remote) == summary(duck)
    assert remote.stats["by_template"] == duck.stats["by_template"]
