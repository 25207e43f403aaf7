"""The notices besides the letters, drafted from the obligations: a media notice for each
state with more than 500 residents affected (164.406), a notice to each attorney general
or regulator whose threshold is met (in the state's terms, citing its statute), the
letter to the consumer reporting agencies where a state requires one, and the web posting
for substitute notice (164.404(d)(2)). Each is a Markdown file the privacy officer edits
before sending; the templates are in ``breach/templates`` (a hospital's own in
``CONFIG/letters``).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from phiwarden.breach.hhs import hospital
from phiwarden.breach.law import all_states
from phiwarden.breach.letters import KINDS, templates
from phiwarden.breach.obligations import compute


def draft(
    conn: Connection,
    incident: dict[str, Any],
    out_dir: Path,
    *,
    config: Path | None = None,
    today: date | None = None,
) -> list[Path]:
    """Write every notice the incident's obligations call for; the files written."""
    on = today or date.today()
    items, people = compute(conn, incident, config=config, today=on)
    notice = hospital(config)
    env = templates(config)
    states = all_states(config)
    everyone = [r for rows in people.by_state.values() for r in rows] + people.unknown
    exposed = {e for r in everyone for e in r["elements"]}
    individuals = next(
        (o.due for o in items if (o.kind, o.jurisdiction) == ("individuals", "US")), None
    )
    base = {
        "entity": notice["covered_entity"],
        "contact": notice["contact"],
        "incident": incident,
        "today": on,
        "credit": notice["credit_monitoring"] if "ssn" in exposed else None,
        "individuals_due": individuals,
    }

    def kinds(rows: list[dict[str, Any]]) -> list[str]:
        found = {e for r in rows for e in r["elements"]}
        return [KINDS[e][0].removeprefix("your ") for e in KINDS if e in found]

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, template: str, **extra: Any) -> None:
        path = out_dir / name
        path.write_text(env.get_template(template).render(**{**base, **extra}))
        written.append(path)

    agencies_cites = []
    for o in items:
        if o.kind == "media":
            rows = people.by_state.get(o.jurisdiction, [])
            put(
                f"media-{o.jurisdiction}.md",
                "media.md.j2",
                state_name=states[o.jurisdiction].name,
                people=o.people,
                kinds=kinds(rows),
            )
        elif o.kind == "attorney_general" and "-" not in o.jurisdiction:
            law = states[o.jurisdiction]
            rows = people.by_state.get(o.jurisdiction, [])
            put(
                f"attorney-general-{o.jurisdiction}.md",
                "attorney_general.md.j2",
                regulator=law.regulator,
                state_name=law.name,
                people=o.people,
                kinds=kinds(rows),
                credit=base["credit"] if any("ssn" in r["elements"] for r in rows) else None,
            )
        elif o.kind == "consumer_reporting_agencies":
            agencies_cites.append(f"{o.jurisdiction}: {o.cite}")
    if agencies_cites:
        put(
            "consumer-reporting-agencies.md",
            "consumer_reporting_agencies.md.j2",
            people=people.total,
            kinds=kinds(everyone),
            cites=agencies_cites,
        )
    if any(o.kind == "substitute_notice" for o in items) and people.insufficient_address >= 10:
        put(
            "web-posting.md",
            "web_posting.md.j2",
            kinds=kinds(everyone),
            until=on + timedelta(days=90),
        )
    return written
