"""Render ``docs/inputs.md`` from the canonical layout, so the docs cannot drift.

``python -m phiwarden.domain.canonical_doc > docs/inputs.md`` rewrites it; a test checks
the committed file is what this renders.
"""

from __future__ import annotations

from phiwarden.domain.canonical import ALL_TABLES
from phiwarden.store.schema import SENSITIVE

INTRO = '# Inputs: the canonical layout\n\nEvery reader in phiwarden produces these record types; you can also hand them over\ndirectly as CSV (one file per type, named `<type>.csv`, header row with the column names\nbelow) or Parquet (`<type>.parquet`). Access events can be one file\n`access_events.csv|parquet` or a folder `access_events/` of Parquet files (for example\n`access_events/day=2026-01-05/part-0.parquet`).\n\n```sh\nphiwarden ingest hospital/canonical          # a folder: every type, referenced types first\nphiwarden ingest new_patients.csv --json     # one file, recognised by its name\nphiwarden ingest --quarantine                # what was rejected, where, and why\n```\n\n## Rules\n\n- **Dates** are `YYYY-MM-DD`; **timestamps** `YYYY-MM-DDTHH:MM:SS` (a space instead of `T` is\n  accepted) in the health system\'s local wall-clock time, the way an EHR audit export shows\n  them. Booleans are `true/false` (also `1/0`, `yes/no`). Empty cells are missing values.\n- **Required** columns (marked below) must be present in the header; a file without one is\n  refused as a whole with the name of the column. Extra columns are ignored.\n- A **bad record** (a value that cannot be read as its type, a missing required value, a\n  reference to a record phiwarden does not have) goes to **quarantine** with the file, the\n  line (CSV) or row (Parquet) and the reason; the good records around it load. The raw\n  record is kept encrypted in the quarantine table so nothing is lost; fix the source and\n  ingest again.\n- **Re-running** an ingest adds nothing: records whose key is already stored are counted as\n  `duplicates_skipped`, and access-event files already in the lake are skipped. A crash\n  mid-ingest leaves whole batches or none (each batch is one transaction; lake files are\n  written to a hidden temporary name and renamed), and running the ingest again completes it.\n- **Sensitive identifiers** (marked below) are never stored in clear: phiwarden keeps them\n  encrypted with the key file, with a keyed hash for matching and the last four for display.\n- `--json` prints `{"loaded": {"<record type>": n, ...}, "quarantined": n, "duplicates_skipped": n}`.\n\n'


def render() -> str:
    """The whole of docs/inputs.md."""
    lines = [INTRO + "## Record types\n"]
    for t in ALL_TABLES:
        lines.append(f"\n### `{t.name}`\n\n{t.description} Key: `{t.key}`.\n")
        lines.append("| column | type | |\n| --- | --- | --- |")
        for f in t.schema:
            marks = [
                m
                for m, on in (
                    ("required", f.name in t.required),
                    ("sensitive", (t.name, f.name) in SENSITIVE),
                )
                if on
            ]
            lines.append(f"| `{f.name}` | {f.type} | {', '.join(marks)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
