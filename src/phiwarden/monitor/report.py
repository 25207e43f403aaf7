"""Print a monitor run for a person: the explained fraction and the top alerts with reasons."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from phiwarden.monitor.run import MonitorResult


def print_result(console: Console, result: MonitorResult, top: int = 10) -> None:
    """The window, how much was explained (by template), and the ``top`` alerts."""
    stats = result.stats
    if result.window is None:
        console.print("monitor: no new days in the lake to review")
        return
    console.print(
        f"reviewed {stats['accesses']:,} accesses, {result.window.since} .. "
        f"{result.window.until}: {stats['explained_fraction']:.1%} explained, "
        f"{stats['unexplained']:,} unexplained, {stats['alerts']:,} alert(s)"
    )
    by = stats.get("by_template", {})
    if by:
        parts = [f"{name} {n / max(stats['accesses'], 1):.1%}" for name, n in by.items() if n]
        console.print("explained by: " + ", ".join(parts), highlight=False)
    if not result.alerts:
        return
    table = Table(title=f"top {min(top, len(result.alerts))} alerts", show_lines=False)
    table.add_column("user")
    table.add_column("score", justify="right")
    table.add_column("patients", justify="right")
    table.add_column("reasons")
    for alert in result.alerts[:top]:
        table.add_row(
            alert.user_id,
            f"{alert.score:.2f}",
            str(len(alert.patient_ids)),
            "; ".join(r["text"] for r in alert.reasons[:4]),
        )
    console.print(table)
