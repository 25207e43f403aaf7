"""The text report of ``phiwarden link``."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from phiwarden.identity.link import LinkResult


def print_link(out: Console, result: LinkResult, top: int, *, stored: bool) -> None:
    """Counts, the largest clusters and the conflicts, for a person at a terminal."""
    in_clusters = sum(len(c) for c in result.clusters)
    out.print(
        f"[bold]{result.records:,}[/] records, [bold]{len(result.clusters):,}[/] people with "
        f"more than one record ({in_clusters:,} records), "
        f"[bold]{len(result.conflicts):,}[/] identifier conflicts; "
        f"{result.pairs_scored:,} pairs above the match threshold."
    )
    if result.clusters:
        table = Table(title="Duplicate clusters (one person, several records)")
        table.add_column("records")
        for cluster in sorted(result.clusters, key=len, reverse=True)[:top]:
            table.add_row(", ".join(cluster))
        out.print(table)
    if result.conflicts:
        kinds = Counter(c["identifier"] for c in result.conflicts)
        table = Table(title="Identifier conflicts (one identifier, different people)")
        table.add_column("identifier")
        table.add_column("records")
        for c in result.conflicts[:top]:
            table.add_row(c["identifier"], ", ".join(c["record_ids"]))
        out.print(table)
        out.print(", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    if stored:
        out.print(
            "The index and model are stored: screening uses them ('phiwarden redflags screen')."
        )
