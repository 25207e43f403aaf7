"""Text reports of ``phiwarden redflags scan`` and ``screen``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from phiwarden.redflags.catalogue import BY_CODE
from phiwarden.redflags.scan import ScanResult


def print_scan(out: Console, result: ScanResult, top: int) -> None:
    """Counts per flag with the prescribed action, then the most severe flags."""
    counts: Counter[str] = result.by_code()
    out.print(f"[bold]{len(result.findings):,}[/] red flags ({result.new:,} new).")
    table = Table(title="Red flags by kind")
    for col in ("code", "flag", "severity", "count"):
        table.add_column(col)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    for code, n in ordered:
        flag = BY_CODE[code]
        table.add_row(code, flag.title, flag.severity.value, str(n))
    out.print(table)
    out.print("[bold]Prescribed actions[/] (the program's response to each flag):")
    for code, _n in ordered:
        out.print(f"  {code}: {BY_CODE[code].action_text}", highlight=False)
    shown = Table(title=f"Top {min(top, len(result.findings))} flags")
    for col in ("code", "MRN", "registration", "evidence"):
        shown.add_column(col)
    for f in result.findings[:top]:
        shown.add_row(
            f.code,
            f.mrn or "",
            f.registration_id or f.account_id or f.user_id or "",
            "; ".join(f.evidence),
        )
    out.print(shown)


def print_screen(out: Console, answer: dict[str, Any]) -> None:
    """The decision, the action, any registration alert, and each flag with its evidence."""
    colour = "red" if answer["decision"] == "stop" else "green"
    out.print(f"[bold {colour}]{answer['decision'].upper()}[/]: {answer['action']}")
    for a in answer.get("alerts", []):
        out.print(f"[bold red]ALERT[/] on MRN {a['mrn']} (case {a['case_id']}): {a['text']}")
    for f in answer["flags"]:
        out.print(
            f"- [bold]{f['code']}[/] {f['title']} ({f['severity']}): " + "; ".join(f["evidence"])
        )
    for m in answer["matches"]:
        out.print(
            f"matches MRN {m['mrn']} (p={m['match_probability']}): " + ", ".join(m["agreeing"])
        )
    if not answer["linkage_model"]:
        out.print("No linkage model yet: run 'phiwarden link' to match against the patient index.")
    for p in answer["problems"]:
        out.print(f"[yellow]note:[/] {p}")
