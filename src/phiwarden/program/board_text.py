"""Words the PDF and the HTML board report share: the headline figures, percentages, and
what to say where the Privacy Officer has not written a section yet."""

from __future__ import annotations

from typing import Any

from phiwarden.program.board import WRITTEN


def pct(value: float | None) -> str:
    """A percentage, or a dash when there was nothing to count."""
    return "-" if value is None else f"{value:.1f}%"


def headline(f: dict[str, Any]) -> list[tuple[str, str]]:
    """The year in a few lines."""
    cases = f["cases"]
    return [
        ("Red flags found", f"{f['flags']['total']} ({f['flags']['to_cases']} led to a case)"),
        ("Monitoring alerts raised", str(f["alerts"]["raised"])),
        ("Cases opened / closed", f"{cases['opened']} / {cases['closed']}"),
        (
            "Median days to close a case",
            "-" if cases["median_days"] is None else str(cases["median_days"]),
        ),
        ("Privacy investigations opened", str(f["investigations"]["opened"])),
        ("Incidents opened", str(len(f["incidents"]))),
        ("People sent a breach letter", str(f["notified"])),
        ("Workforce current on training", pct(f["effectiveness"]["training_current_pct"])),
        ("Service providers needing attention", str(sum(1 for p in f["providers"] if p["issues"]))),
    ]


def missing_text(f: dict[str, Any], key: str) -> str:
    """Where the Privacy Officer writes a section not written yet."""
    return (
        f"{WRITTEN[key]}: not written yet. The Privacy Officer writes it as `{key}` in "
        f"{f['officer']['path']}, and the report is generated again."
    )
