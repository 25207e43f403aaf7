"""Write a synthetic hospital: canonical CSVs, day-partitioned access events, other formats,
``ground_truth.json`` and ``manifest.json``.

The canonical folder is the contract every reader and exporter relies on; the FHIR,
mailbox and X12 writers read it back and are imported only when asked for.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from phiwarden import __version__
from phiwarden.domain.canonical import OPERATIONAL_TABLES, CanonicalTable
from phiwarden.domain.canonical_io import write_csv
from phiwarden.synth.columns import Frame, frame_length, to_table
from phiwarden.synth.events import write_events
from phiwarden.synth.hospital import build_hospital
from phiwarden.synth.spec import SynthSpec

GENERATOR = "phiwarden.synth"
GENERATOR_VERSION = f"{__version__}+synth.1"
#: Output format -> (module, function(canonical_dir, out_dir)) of its exporter. Exporters
#: read the canonical folder back, so each is independent and imported only when asked for.
EXPORTERS: dict[str, tuple[str, str]] = {
    "fhir": ("phiwarden.synth.fhir", "write_fhir"),
    "x12": ("phiwarden.synth.x12", "write_x12"),
    "hl7": ("phiwarden.synth.hl7", "write_hl7"),
    "access_log": ("phiwarden.synth.access_log", "write_access_log"),
    "atna": ("phiwarden.synth.atna", "write_atna"),
}
OTHER_FORMATS = ("mailbox", *EXPORTERS)


@dataclass
class SynthResult:
    """Where the hospital was written, rows per canonical table, ground truth and time taken."""

    out_dir: Path
    counts: dict[str, int]
    ground_truth: dict[str, Any]
    seconds: float


def _write_tables(
    tables: dict[str, Frame], canonical: Path, progress: Callable[[str, int, int], None] | None
) -> dict[str, int]:
    """Write every operational table as CSV (two at a time); a table without data is empty."""

    def write(table: CanonicalTable) -> int:
        frame = tables.get(table.name, {})
        n = frame_length(frame)
        write_csv(to_table(frame, table, n), canonical / f"{table.name}.csv", table)
        return n

    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, (table, n) in enumerate(
            zip(OPERATIONAL_TABLES, pool.map(write, OPERATIONAL_TABLES), strict=True), start=1
        ):
            counts[table.name] = n
            if progress is not None:
                progress("writing tables", i, len(OPERATIONAL_TABLES))
    return counts


def generate(
    out_dir: Path, spec: SynthSpec, progress: Callable[[str, int, int], None] | None = None
) -> SynthResult:
    """Generate the hospital described by ``spec`` into ``out_dir`` and return what was written."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    canonical = out_dir / "canonical"
    for owned in (canonical, *(out_dir / f for f in OTHER_FORMATS)):
        if owned.is_dir():  # a previous hospital's outputs would mix with this one's
            shutil.rmtree(owned)
    canonical.mkdir(parents=True)
    hospital = build_hospital(spec, progress)
    counts = _write_tables(hospital.tables, canonical, progress)
    rng = np.random.default_rng(spec.seed).spawn(17)[16]
    counts["access_events"] = write_events(
        hospital.events,
        canonical / "access_events",
        hospital.window,
        hospital.org,
        hospital.pop.n,
        rng,
        progress,
    )
    mailbox: list[dict[str, Any]] = []
    if "mailbox" in spec.formats:
        from phiwarden.synth.mailbox import write_mailbox

        mailbox = list(write_mailbox(canonical, out_dir / "mailbox", seed=spec.seed))
    from phiwarden.synth.program_files import write_program_files

    program = write_program_files(canonical, out_dir / "program", spec.end, spec.seed)
    for fmt, (module, function) in EXPORTERS.items():
        if fmt in spec.formats:
            if progress is not None:
                progress(f"writing {fmt}", 0, 1)
            getattr(importlib.import_module(module), function)(canonical, out_dir / fmt)
            if progress is not None:
                progress(f"writing {fmt}", 1, 1)
    truth: dict[str, Any] = {
        "snooping": hospital.snooping,
        "identity_theft": hospital.identity_theft,
        "mailbox": mailbox,
    }
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    manifest = {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "spec": spec.as_dict(),
        "counts": counts,
        "program": program,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return SynthResult(
        out_dir=out_dir, counts=counts, ground_truth=truth, seconds=time.perf_counter() - started
    )
