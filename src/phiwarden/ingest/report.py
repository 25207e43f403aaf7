"""What an ingest did: records loaded per type, quarantined, duplicates skipped, and the
directory gaps and unmapped codes a hospital should look at."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: How many distinct missing values a gap keeps as examples.
GAP_EXAMPLES = 5


@dataclass
class IngestReport:
    """Counts of one ingest run, printed by the CLI (``--json`` prints ``to_json()``)."""

    loaded: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    duplicates_skipped: int = 0
    sources: list[str] = field(default_factory=list)
    #: (table, column) -> records whose reference names a record not in the stores
    gaps: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (table, column) -> a few of the missing values, for the message
    gap_examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: (vocabulary, code) -> times a code could not be mapped (the most frequent first)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (vocabulary, how) -> values found from a code, a keyword, the mapping or a fallback
    found_by: Counter[tuple[str, str]] = field(default_factory=Counter)

    def gap(self, table: str, column: str, missing: pa.Array) -> None:
        """Count references to records not in the stores, keeping a few examples."""
        key = (table, column)
        self.gaps[key] += len(missing)
        examples = self.gap_examples.setdefault(key, [])
        if len(examples) < GAP_EXAMPLES:
            for value in pc.unique(missing).to_pylist()[:GAP_EXAMPLES]:
                if value not in examples and len(examples) < GAP_EXAMPLES:
                    examples.append(str(value))

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form the command-line contract promises."""
        return {
            "loaded": dict(sorted(self.loaded.items())),
            "quarantined": self.quarantined,
            "duplicates_skipped": self.duplicates_skipped,
            "directory_gaps": [
                {
                    "table": t,
                    "column": c,
                    "records": n,
                    "examples": self.gap_examples.get((t, c), []),
                }
                for (t, c), n in sorted(self.gaps.items())
            ],
            "unmapped_codes": [
                {"vocabulary": v, "code": code, "count": n}
                for (v, code), n in self.unmapped.most_common(20)
            ],
            "inferred": {f"{v}.{how}": n for (v, how), n in sorted(self.found_by.items())},
        }

    def merge(self, other: IngestReport) -> None:
        """Add another report's counts to this one."""
        self.loaded.update(other.loaded)
        self.quarantined += other.quarantined
        self.duplicates_skipped += other.duplicates_skipped
        self.sources.extend(other.sources)
        self.gaps.update(other.gaps)
        for key, examples in other.gap_examples.items():
            mine = self.gap_examples.setdefault(key, [])
            mine.extend(e for e in examples if e not in mine)
            del mine[GAP_EXAMPLES:]
        self.unmapped.update(other.unmapped)
        self.found_by.update(other.found_by)


def print_report(console: Any, report: IngestReport) -> None:
    """Print what an ingest loaded, what it rejected, its directory gaps and unmapped codes."""
    from rich.markup import escape

    for name, n in sorted(report.loaded.items()):
        console.print(f"{name:<24}{n:>12,}")
    console.print(
        f"quarantined {report.quarantined:,}; duplicates skipped {report.duplicates_skipped:,}"
    )
    for (table, column), n in sorted(report.gaps.items()):
        examples = ", ".join(report.gap_examples.get((table, column), []))
        console.print(
            f"directory gap: {n:,} {table} name a {column} not loaded (e.g. {escape(examples)})"
            + (": loaded as it is" if table == "access_events" else ": loaded without it"),
            highlight=False,
        )
    if report.unmapped:
        console.print("codes nothing mapped (add them to your mapping file, docs/mapping.md):")
        for (vocabulary, code), n in report.unmapped.most_common(10):
            console.print(f"  {vocabulary:<16}{escape(code)}  x{n:,}", highlight=False)
