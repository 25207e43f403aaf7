"""Ingest entry point: pick the reader for each path and run it through the shared loader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from phiwarden.ingest import canonical
from phiwarden.ingest.canonical import Progress
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.report import IngestReport
from phiwarden.store import repositories as repo
from phiwarden.store.sensitive import Protector

FORMATS: tuple[str, ...] = ("auto", "csv", "parquet")


class UnsupportedFormatError(ValueError):
    """A format name phiwarden does not read, or a path whose format cannot be told."""


def detect_format(path: Path) -> str:
    """Tell a path's format from its name and shape."""
    if path.is_dir():
        if canonical.canonical_files(path):
            return "csv"
        raise UnsupportedFormatError(
            f"{path}: no file here in a format phiwarden reads (canonical CSV/Parquet)"
        )
    if path.suffix.lower() in (".csv", ".parquet"):
        return path.suffix.lower().lstrip(".")
    raise UnsupportedFormatError(
        f"{path}: cannot tell its format; pass --format ({', '.join(FORMATS)})"
    )


def run_ingest(
    paths: Sequence[Path],
    *,
    engine: Engine,
    protector: Protector,
    lake_dir: Path,
    fmt: str = "auto",
    progress: Progress | None = None,
) -> IngestReport:
    """Load every path into the stores; returns what was loaded, quarantined and skipped."""
    if fmt not in FORMATS:
        raise UnsupportedFormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    total = IngestReport()
    for path in paths:
        kind = detect_format(path) if fmt == "auto" else fmt
        loader = Loader(engine, protector, lake_dir)
        with engine.begin() as conn:
            run_id = repo.start_ingest_run(conn, source=str(path), fmt=kind)
        canonical.load_path(loader, path, progress)
        with engine.begin() as conn:
            repo.finish_ingest_run(
                conn,
                run_id,
                loaded=sum(loader.report.loaded.values()),
                quarantined=loader.report.quarantined,
                duplicates=loader.report.duplicates_skipped,
            )
        loader.report.sources.append(str(path))
        total.merge(loader.report)
    return total
