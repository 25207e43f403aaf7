"""Render ``docs/inputs.md`` from the canonical layout, so the docs cannot drift.

``python -m phiwarden.domain.canonical_doc > docs/inputs.md`` rewrites it; a test checks
the committed file is what this renders.
"""

from __future__ import annotations

from phiwarden.domain.canonical import ALL_TABLES, SENSITIVE

INTRO = """\
# Inputs: the canonical layout

Every reader in phiwarden produces these record types; you can also hand them over
directly as CSV (one file per type, named `<type>.csv`, header row with the column names
below) or Parquet (`<type>.parquet`). Access events can be one file
`access_events.csv|parquet` or a folder `access_events/` of Parquet files (for example
`access_events/day=2026-01-05/part-0.parquet`).

```sh
phiwarden ingest hospital/canonical          # a folder: every type, referenced types first
phiwarden ingest new_patients.csv --json     # one file, recognised by its name
phiwarden ingest --quarantine                # what was rejected, where, and why
```

## Rules

- **Dates** are `YYYY-MM-DD`; **timestamps** `YYYY-MM-DDTHH:MM:SS` (a space instead of `T` is
  accepted) in the health system's local wall-clock time, the way an EHR audit export shows
  them. Booleans are `true/false` (also `1/0`, `yes/no`). Empty cells are missing values.
- **Required** columns (marked below) must be present in the header; a file without one is
  refused as a whole with the name of the column. Extra columns are ignored.
- A **bad record** (a value that cannot be read as its type, a missing required value, a
  required reference to a record phiwarden does not have, such as a coverage of an unknown
  patient) goes to **quarantine** with the file, the line (CSV) or row (Parquet) and the
  reason; the good records around it load. The raw record is kept encrypted in the
  quarantine table so nothing is lost; fix the source and ingest again.
- A **directory gap** is not a bad record: an optional reference to a record that is not
  loaded (an encounter's department, a prescription's prescriber) loads as empty, and an
  access event by a user or of a patient missing from the directory loads as it is (an
  unknown account is itself a monitoring signal). The ingest report counts each gap with
  examples (`directory_gaps` in `--json`), and the readiness report shows what the loaded
  data lets each analysis do (`docs/mapping.md`).
- **Re-running** an ingest adds nothing: records whose key is already stored are counted as
  `duplicates_skipped`, and access-event files already in the lake are skipped. A crash
  mid-ingest leaves whole batches or none (each batch is one transaction; lake files are
  written to a hidden temporary name and renamed), and running the ingest again completes it.
- **Sensitive identifiers** (marked below) are never stored in clear: phiwarden keeps them
  encrypted with the key file, with a keyed hash for matching and the last four for display.
- `--json` prints `{"loaded": {"<type>": n, ...}, "quarantined": n, "duplicates_skipped": n,
  "directory_gaps": [{"table", "column", "records", "examples"}], "unmapped_codes":
  [{"vocabulary", "code", "count"}], "inferred": {"<vocabulary>.<how>": n}}`.
- `PHIWARDEN_INGEST_BATCH_ROWS` (default 50,000) sets how many records one transaction
  holds; lower it to use less memory. Access-event batches are fixed at 50,000 rows.

"""


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
