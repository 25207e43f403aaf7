"""``phiwarden link``: link a persons CSV, or the patient index and store the result.

A CSV is hashed with a key made for the run (its SSNs never leave the process in clear
and the hashes are not kept). The patient index is read with its stored keyed hashes;
its clusters, normalised rows and the trained parameters are written to the store for
real-time screening.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from phiwarden.identity.index import read_patient_persons, write_index
from phiwarden.identity.link import ENGINES, LinkResult, link_persons
from phiwarden.identity.records import PERSON_COLUMNS, normalise_persons
from phiwarden.store.setup import Stores

Progress = Callable[[str], None]


def run_key_hasher() -> Callable[[str], str]:
    """A keyed hash with a key that lives only as long as this process."""
    key = os.urandom(32)
    return lambda value: hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def read_persons_csv(path: Path) -> pa.Table:
    """The persons CSV with every column as text; a clear error if a column is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 CSV file") from exc
    missing = [c for c in PERSON_COLUMNS if c not in header]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}: the header must be "
            f"{','.join(PERSON_COLUMNS)}"
        )
    options = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in header}, strings_can_be_null=False
    )
    table = pacsv.read_csv(path, convert_options=options)
    ids = table.column("record_id")
    if pa.compute.count_distinct(ids).as_py() != table.num_rows:
        raise ValueError(f"{path}: record_id must be unique in the file")
    return table


@contextmanager
def _engine_session(engine: str) -> Iterator[Any]:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "duckdb":
        yield None
        return
    from phiwarden.lake.engine import open_backend, spark_session

    with open_backend("spark") as backend:
        yield spark_session(backend)


def link_csv(path: Path, engine: str = "duckdb", progress: Progress | None = None) -> LinkResult:
    """Link the records of a persons CSV; record ids in the result are the file's."""
    say = progress or (lambda _s: None)
    say("reading")
    raw = read_persons_csv(path)
    say("normalising")
    persons = normalise_persons(raw, run_key_hasher())
    with _engine_session(engine) as spark:
        return link_persons(persons, engine, spark=spark, progress=say)


def link_patient_index(
    stores: Stores, engine: str = "duckdb", progress: Progress | None = None
) -> LinkResult:
    """Link every patient, store the index and model, and report by MRN."""
    say = progress or (lambda _s: None)
    say("reading")
    raw = read_patient_persons(stores.engine)
    if raw.num_rows < 2:
        raise ValueError("the patient index has fewer than two patients: ingest patients first")
    mrns = dict(zip(raw["record_id"].to_pylist(), raw["mrn"].to_pylist(), strict=True))
    say("normalising")
    persons = normalise_persons(raw, stores.protector.keyed_hash)
    with _engine_session(engine) as spark:
        result = link_persons(persons, engine, spark=spark, progress=say)
    say("storing")
    write_index(
        stores.engine, persons, mrns, result.cluster_of, result.parameters, engine_name=engine
    )
    result.clusters = [sorted(mrns.get(r, r) for r in c) for c in result.clusters]
    result.conflicts = [
        {**c, "record_ids": sorted(mrns.get(r, r) for r in c["record_ids"])}
        for c in result.conflicts
    ]
    return result
