"""What an ingest did: records loaded per type, quarantined, duplicates skipped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestReport:
    """Counts of one ingest run, printed by the CLI (``--json`` prints ``to_json()``)."""

    loaded: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    duplicates_skipped: int = 0
    sources: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable form the command-line contract promises."""
        return {
            "loaded": dict(sorted(self.loaded.items())),
            "quarantined": self.quarantined,
            "duplicates_skipped": self.duplicates_skipped,
        }

    def merge(self, other: IngestReport) -> None:
        """Add another report's counts to this one."""
        self.loaded.update(other.loaded)
        self.quarantined += other.quarantined
        self.duplicates_skipped += other.duplicates_skipped
        self.sources.extend(other.sources)
