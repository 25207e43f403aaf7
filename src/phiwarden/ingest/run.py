"""Ingest entry point: pick the reader for each path and run it through the shared loader."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from phiwarden.formats.terminology import CodeMap, is_code_mapping
from phiwarden.ingest import formats
from phiwarden.ingest.formats import Progress, UnsupportedFormatError
from phiwarden.ingest.loader import Loader
from phiwarden.ingest.report import IngestReport
from phiwarden.lake.openings import refresh_openings
from phiwarden.store import repositories as repo
from phiwarden.store.sensitive import Protector

__all__ = ["UnsupportedFormatError", "run_ingest"]


def run_ingest(
    paths: Sequence[Path],
    *,
    engine: Engine,
    protector: Protector,
    lake_dir: Path,
    fmt: str = "auto",
    mapping: Path | None = None,
    codes: Path | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Load every path into the stores; returns what was loaded, quarantined and skipped.

    ``mapping`` is a mapping file (TOML): an access-log column mapping (it has
    ``[columns]``) for an EHR export whose columns differ from the bundled Epic-style and
    generic layouts, which implies ``--format epic``; or a code mapping (``[roles]``,
    ``[department_kinds]``...) that maps the hospital's own codes for every reader, as
    ``codes`` does (the data directory's ``codes.toml``, say).
    """
    if mapping is not None and not mapping.is_file():
        raise FileNotFoundError(f"no such mapping file: {mapping}")
    if mapping is not None and is_code_mapping(mapping):
        mapping, codes = None, mapping
    code_map = CodeMap.from_file(codes)  # a bad file fails before anything loads
    if mapping is not None:
        if fmt not in ("auto", "epic"):
            raise UnsupportedFormatError("--mapping applies to access-log exports (--format epic)")
        if not mapping.is_file():
            raise FileNotFoundError(f"no such mapping file: {mapping}")
        fmt = "epic"
    if fmt != "auto":
        formats.module(fmt)  # fails early on an unknown name
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")
    total = IngestReport()
    for path in paths:
        kind = formats.detect(path) if fmt == "auto" else fmt
        loader = Loader(engine, protector, lake_dir, code_map.fresh())
        with engine.begin() as conn:
            run_id = repo.start_ingest_run(conn, source=str(path), fmt=kind)
        if mapping is not None:
            from phiwarden.ingest.access_log import load_with_mapping

            load_with_mapping(loader, path, mapping, progress)
        else:
            formats.module(kind).load(loader, path, progress)
        if loader.event_days:  # the days' openings, so a monitor run need not group them
            refresh_openings(lake_dir, loader.event_days)
        with engine.begin() as conn:
            repo.finish_ingest_run(
                conn,
                run_id,
                loaded=sum(loader.report.loaded.values()),
                quarantined=loader.report.quarantined,
                duplicates=loader.report.duplicates_skipped,
            )
        loader.report.sources.append(str(path))
        loader.report.unmapped.update(loader.codes.unmapped)
        loader.report.found_by.update(loader.codes.found_by)
        total.merge(loader.report)
    return total
