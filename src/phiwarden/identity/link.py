"""Link person records with Splink: duplicate clusters and identifier conflicts.

``link_persons`` trains the model without labels on the records themselves, predicts
pairs within the blocking keys, clusters them at the match threshold, and reports two
things a registrar or HIM analyst acts on: clusters (one person, several records) and
conflicts (one SSN, member id, phone or address on records that disagree on the person:
in different clusters, and differing in date of birth, last name and first name, so that
a household sharing a phone under one family name is not a conflict).
It runs on DuckDB (default) or on a local Spark session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from phiwarden.identity.model import MATCH_THRESHOLD, Parameters, splink_settings, train

ENGINES = ("duckdb", "spark")
#: Identifier kinds checked for conflicts: (name in the output, matching column).
CONFLICT_KEYS: tuple[tuple[str, str], ...] = (
    ("ssn", "ssn_hash"),
    ("member_id", "member_id"),
    ("phone", "phone"),
    ("address", "address_key"),
)

Progress = Callable[[str], None]


@dataclass
class LinkResult:
    """Clusters of one person's records, identifier conflicts, and the trained model."""

    clusters: list[list[str]]
    conflicts: list[dict[str, Any]]
    cluster_of: dict[str, str]
    parameters: Parameters
    records: int
    pairs_scored: int
    stages: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``phiwarden link --json`` document."""
        return {"clusters": self.clusters, "conflicts": self.conflicts}


def _quiet_splink() -> None:
    """Splink logs its training to stderr at INFO; a command shows its own progress."""
    import splink.logging

    splink.logging.disable()
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _db_api(engine: str, spark: Any | None) -> Any:
    if engine == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(connection=_duckdb_connection())
    if engine == "spark":
        from splink.backends.spark import SparkAPI

        if spark is None:
            from pyspark.sql import SparkSession

            spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError("linking on Spark needs a running Spark session")
        if spark.sparkContext._jsc.sc().getCheckpointDir().isEmpty():
            # Splink breaks long lineages with checkpoints, which need a folder.
            import tempfile

            spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="phiwarden-splink-"))
        return SparkAPI(spark_session=spark)
    raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


#: DuckDB memory cap for linkage unless PHIWARDEN_DUCKDB_MEMORY_LIMIT says otherwise.
DEFAULT_MEMORY = "4GB"


def _duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB capped in memory, spilling to a private temporary folder."""
    import os
    import tempfile

    from phiwarden.lake.engine import DUCKDB_MEMORY_ENV, DUCKDB_THREADS_ENV

    config: dict[str, Any] = {
        "memory_limit": os.environ.get(DUCKDB_MEMORY_ENV, "").strip() or DEFAULT_MEMORY,
        "temp_directory": tempfile.mkdtemp(prefix="phiwarden-link-"),
    }
    threads = os.environ.get(DUCKDB_THREADS_ENV, "").strip()
    if threads.isdigit():
        config["threads"] = int(threads)
    return duckdb.connect(config=config)


def _input_for(engine: str, persons: pa.Table, spark: Any | None) -> Any:
    if engine == "spark":
        from pyspark.sql import SparkSession

        session = spark or SparkSession.getActiveSession()
        if session is None:
            raise RuntimeError("linking on Spark needs a running Spark session")
        # Every column as text: an all-null column would otherwise get Spark's VOID type,
        # which Parquet cannot store.
        schema = ", ".join(f"`{n}` string" for n in persons.column_names)
        return session.createDataFrame(persons.to_pandas(), schema=schema)
    return persons


def link_persons(
    persons: pa.Table,
    engine: str = "duckdb",
    *,
    spark: Any | None = None,
    threshold: float = MATCH_THRESHOLD,
    seed: int = 42,
    progress: Progress | None = None,
) -> LinkResult:
    """Train, predict and cluster ``persons`` (the normalised ``MATCH_SCHEMA`` table)."""
    if engine != "spark":
        return _link(persons, engine, spark, threshold, seed, progress)
    try:
        return _link(persons, engine, spark, threshold, seed, progress)
    except Exception as exc:
        if type(exc).__module__.startswith(("py4j", "pyspark")):
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError(f"linking on Spark failed: {first}") from exc
        raise


def _link(
    persons: pa.Table,
    engine: str,
    spark: Any | None,
    threshold: float,
    seed: int,
    progress: Progress | None,
) -> LinkResult:
    import time

    from splink import Linker

    say = progress or (lambda _s: None)
    stages: dict[str, float] = {}
    t = time.perf_counter()
    db_api = _db_api(engine, spark)
    linker = Linker([db_api.register(_input_for(engine, persons, spark))], splink_settings())
    _quiet_splink()
    say("training")
    training = train(linker, persons.num_rows, seed=seed)
    stages["train"] = time.perf_counter() - t
    t = time.perf_counter()
    say("predicting")
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    say("clustering")
    clusters_sdf = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    pairs = _count(linker, predictions)
    cluster_table = _two_columns(clusters_sdf)
    stages["predict_cluster"] = time.perf_counter() - t
    parameters = Parameters.from_splink(linker.misc.save_model_to_json())
    t = time.perf_counter()
    say("conflicts")
    clusters, cluster_of, conflicts = _summarise(persons, cluster_table)
    stages["conflicts"] = time.perf_counter() - t
    return LinkResult(
        clusters=clusters,
        conflicts=conflicts,
        cluster_of=cluster_of,
        parameters=parameters,
        records=persons.num_rows,
        pairs_scored=pairs,
        stages=stages,
        training=training,
    )


def _count(linker: Any, sdf: Any) -> int:
    found = linker.misc.query_sql(f"SELECT count(*) AS n FROM {sdf.physical_name}", "pandas")
    return int(found["n"].iloc[0])


def _two_columns(sdf: Any) -> pa.Table:
    """(record_id, cluster_id) of every record, as Arrow."""
    df = sdf.as_pandas_dataframe()[["record_id", "cluster_id"]]
    return pa.Table.from_pandas(
        df.astype({"record_id": str, "cluster_id": str}), preserve_index=False
    )


def _summarise(
    persons: pa.Table, clusters: pa.Table
) -> tuple[list[list[str]], dict[str, str], list[dict[str, Any]]]:
    con = duckdb.connect()
    con.register("persons", persons)
    con.register("clusters", clusters)
    con.execute(
        "CREATE TEMP TABLE r AS SELECT p.*, coalesce(c.cluster_id, p.record_id) AS cluster_id "
        "FROM persons p LEFT JOIN clusters c USING (record_id)"
    )
    groups = con.execute(
        "SELECT list(record_id ORDER BY record_id) FROM r GROUP BY cluster_id "
        "HAVING count(*) > 1 ORDER BY min(record_id)"
    ).fetchall()
    cluster_of = dict(con.execute("SELECT record_id, cluster_id FROM r").fetchall())
    conflicts: list[dict[str, Any]] = []
    for kind, col in CONFLICT_KEYS:
        rows = con.execute(
            f"""
            WITH bad AS (
              SELECT DISTINCT a.{col} AS v FROM r a JOIN r b
                ON a.{col} = b.{col} AND a.record_id < b.record_id
               AND a.cluster_id <> b.cluster_id
              WHERE a.dob IS DISTINCT FROM b.dob
                AND a.last_phonetic IS DISTINCT FROM b.last_phonetic
                AND a.first_formal IS DISTINCT FROM b.first_formal
            )
            SELECT list(record_id ORDER BY record_id) FROM r JOIN bad ON r.{col} = bad.v
            GROUP BY bad.v ORDER BY min(record_id)
            """
        ).fetchall()
        conflicts.extend({"identifier": kind, "record_ids": ids} for (ids,) in rows)
    con.close()
    return [list(g) for (g,) in groups], cluster_of, conflicts
