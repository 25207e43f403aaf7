"""Detection quality of a monitor run against the generator's ground truth."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from phiwarden.monitor.run import MonitorResult


def monitor_quality(result: MonitorResult, truth: dict[str, Any]) -> dict[str, Any]:
    """Recall, precision, explained fraction and false alerts per 100k accesses."""
    accesses = int(result.stats["accesses"])
    snoopers = {c["user_id"]: c["scenario"] for c in truth["snooping"]}
    alerted = {a.user_id for a in result.alerts}
    caught = alerted & set(snoopers)
    false = alerted - set(snoopers)
    per: dict[str, list[bool]] = defaultdict(list)
    for user, scenario in snoopers.items():
        per[scenario].append(user in alerted)
    return {
        "accesses": accesses,
        "explained": result.stats["explained_fraction"],
        "alerts": len(alerted),
        "caught": len(caught),
        "snoopers": len(snoopers),
        "recall": len(caught) / max(len(snoopers), 1),
        "precision": len(caught) / max(len(alerted), 1),
        "false": len(false),
        "false_per_100k": len(false) / max(accesses, 1) * 100_000,
        "per_scenario": {k: (sum(v), len(v)) for k, v in sorted(per.items())},
        # which reasons the false alerts carried: where to look when precision drops
        "false_reasons": dict(
            Counter(
                r["code"] for a in result.alerts if a.user_id in false for r in a.reasons
            ).most_common()
        ),
        "missed": sorted(f"{u} ({snoopers[u]})" for u in set(snoopers) - alerted),
    }
