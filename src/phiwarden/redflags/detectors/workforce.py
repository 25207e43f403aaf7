"""HC-WORKFORCE: suspicious workforce access found by access monitoring."""

from __future__ import annotations

import json
from datetime import date, datetime, time

from phiwarden.redflags.data import ScanData
from phiwarden.redflags.finding import Finding


def access_alerts(data: ScanData) -> list[Finding]:
    """Every monitoring alert not decided appropriate, one flag per user and window."""
    rows = data.rows(
        "SELECT alert_id, user_id, score, status, window_start, window_end, reasons "
        "FROM alerts WHERE status <> 'appropriate' ORDER BY score DESC"
    )
    out: list[Finding] = []
    for r in rows:
        reasons = r["reasons"]
        if isinstance(reasons, str):
            reasons = json.loads(reasons)
        titles = [str(x.get("title") or x.get("code")) for x in reasons or []][:3]
        out.append(
            Finding(
                "HC-WORKFORCE",
                "access_alert",
                (
                    f"access alert {r['alert_id']} on user {r['user_id']} for "
                    f"{r['window_start']}..{r['window_end']} (score {r['score']:.1f}): "
                    + "; ".join(titles),
                ),
                user_id=r["user_id"],
                # the suspicious accesses happened in the window, not when the run saw them
                occurred_at=datetime.combine(_day(r["window_end"]), time(23, 59, 59)),
            )
        )
    return out


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
