"""The privacy program's own files for a synthetic hospital: the learning system's export
of training completions, and the list of service providers with their contract and BAA
dates. Written from the workforce already generated, the same for the same seed."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np

#: courses a member of each role takes (matching phiwarden's shipped program.toml)
RED_FLAGS_ROLES = {"registrar", "biller", "coder", "call_center_agent", "him_analyst"}
PROVIDERS = (
    ("mailhouse", "Lakeside Mail and Print", "Patient statements and breach-notice mailing", True),
    ("shredco", "Secure Shred Co", "Paper records destruction", True),
    ("transcribe", "Clearvoice Transcription", "Dictation transcription", True),
    ("cloudhost", "Northwind Hosting", "Hosting of the patient portal", True),
    ("parking", "CityPark Services", "Visitor parking", False),
)


def write_program_files(canonical: Path, out_dir: Path, end: date, seed: int) -> dict[str, int]:
    """``training.csv`` (user_id, course, completed_on) and ``service_providers.csv``."""
    if out_dir.is_dir():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    rng = np.random.default_rng([seed, 681])
    with (canonical / "workforce.csv").open(newline="", encoding="utf-8") as fh:
        members = list(csv.DictReader(fh))
    rows = 0
    with (out_dir / "training.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Employee ID", "Course", "Completion Date"])
        for m in members:
            courses = ["privacy"] + (["red_flags"] if m["role"] in RED_FLAGS_ROLES else [])
            for course in courses:
                if rng.random() < 0.06:  # never took it
                    continue
                # the annual round runs through the year after the window; some are older
                if rng.random() < 0.85:
                    day = end + timedelta(days=int(rng.integers(-60, 290)))
                else:
                    day = end - timedelta(days=int(rng.integers(380, 700)))
                writer.writerow([m["user_id"], course, day.isoformat()])
                rows += 1
    with (out_dir / "service_providers.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "Vendor ID",
                "Vendor",
                "Service",
                "PHI",
                "Contract Start",
                "BAA Date",
                "Last Reviewed",
                "Review Months",
            ]
        )
        for i, (pid, name, service, phi) in enumerate(PROVIDERS):
            start = end - timedelta(days=400 + 200 * i)
            baa = "" if (phi and i == 2) else (start + timedelta(days=3)).isoformat() if phi else ""
            reviewed = end + timedelta(days=200 - 150 * i)
            writer.writerow(
                [
                    pid,
                    name,
                    service,
                    "yes" if phi else "no",
                    start.isoformat(),
                    baa,
                    reviewed.isoformat(),
                    12,
                ]
            )
    return {"training": rows, "service_providers": len(PROVIDERS)}
