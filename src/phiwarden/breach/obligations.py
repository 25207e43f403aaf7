"""What the law requires after an incident, by when: computed from the incident (discovery
date, any law-enforcement delay), the breach decision, and where each notified person
lives, against the HIPAA rule and each state's file (``breach/law``).

Kinds: ``individuals`` (HIPAA, and each state with residents whose exposed data its law
covers), ``hhs`` (500 or more: with the individuals) or ``hhs_annual_log`` (fewer: 60 days
after the calendar year ends), ``media`` (a state with more than 500 residents),
``attorney_general`` and ``consumer_reporting_agencies`` (each state's thresholds),
``substitute_notice`` (people without a usable address) and ``next_of_kin`` (the deceased).
Residence is the patient's current address; unknown or foreign addresses are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from phiwarden.breach.decision import outcome_for
from phiwarden.breach.law import JURISDICTIONS, State, all_states, hipaa_rule
from phiwarden.breach.scope import scope
from phiwarden.store.repositories import domain_table

KINDS = (
    "individuals",
    "hhs",
    "hhs_annual_log",
    "media",
    "attorney_general",
    "consumer_reporting_agencies",
    "substitute_notice",
    "next_of_kin",
)


@dataclass
class Obligation:
    """One thing to do, for one jurisdiction, by a date."""

    kind: str
    jurisdiction: str
    due: date
    people: int
    title: str
    cite: str
    verified: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Stable within an incident: the kind and the jurisdiction."""
        return f"{self.kind}:{self.jurisdiction}"


@dataclass
class Notified:
    """Who is to be notified, and where they live."""

    by_state: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    insufficient_address: int = 0
    deceased: int = 0
    minors: int = 0
    not_notified: int = 0

    @property
    def total(self) -> int:
        """Everyone to be notified, residence known or not."""
        return sum(len(v) for v in self.by_state.values()) + len(self.unknown)


def business_days(start: date, days: int) -> date:
    """``days`` business days (Monday to Friday) after ``start``."""
    at = start
    while days > 0:
        at += timedelta(days=1)
        if at.weekday() < 5:
            days -= 1
    return at


def _age(dob: Any, on: date) -> int | None:
    if not dob:
        return None
    born = dob if isinstance(dob, date) else date.fromisoformat(str(dob)[:10])
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def notified(
    conn: Connection,
    incident_id: str,
    decision: dict[str, Any],
    on: date,
    scoped: dict[str, Any] | None = None,
) -> Notified:
    """The people the decision says to notify, by state of residence (from ``scoped``, the
    incident's scope, when the caller has already read it)."""
    found = scoped if scoped is not None else scope(conn, incident_id)
    p = domain_table("patients")
    ids = [x["patient_id"] for x in found["people"]]
    homes: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 5_000):
        for r in conn.execute(
            select(
                p.c.patient_id, p.c.state, p.c.zip, p.c.address_line, p.c.deceased_date, p.c.dob
            ).where(p.c.patient_id.in_(ids[start : start + 5_000]))
        ).mappings():
            homes[str(r["patient_id"])] = dict(r)
    out = Notified()
    for person in found["people"]:
        elements = set(person["elements"])
        outcome, _group = outcome_for(decision, elements)
        if outcome != "breach":
            out.not_notified += 1
            continue
        home = homes.get(person["patient_id"], {})
        row = {**person, **{k: home.get(k) for k in ("state", "zip", "address_line")}}
        state = str(home.get("state") or "").strip().upper()
        if not home.get("address_line") or not home.get("zip"):
            out.insufficient_address += 1
        if home.get("deceased_date"):
            out.deceased += 1
        age = _age(home.get("dob"), on)
        if age is not None and age < 18:
            out.minors += 1
        if state in JURISDICTIONS:
            out.by_state.setdefault(state, []).append(row)
        else:
            out.unknown.append(row)
    from phiwarden.store.breach_tables import breach_letters

    sent = breach_letters.c
    returned = conn.execute(
        select(sent.reference).where(sent.incident_id == incident_id, sent.status == "returned")
    ).all()
    out.insufficient_address += len(returned)  # returned mail: the address is not usable
    for person in found["unlinked"]:
        outcome, _group = outcome_for(decision, set(person["elements"]))
        if outcome == "breach":
            out.unknown.append(person)
            out.insufficient_address += 1
        else:
            out.not_notified += 1
    return out


def _delay(details: dict[str, Any]) -> tuple[int, str | None]:
    """Days a law-enforcement delay adds (164.412), and the note saying so."""
    delay = details.get("law_enforcement_delay") or {}
    if not delay:
        return 0, None
    discovered = date.fromisoformat(details["discovered"])
    if delay.get("kind") == "written" and delay.get("until"):
        days = max(0, (date.fromisoformat(delay["until"]) - discovered).days)
        return days, f"delayed {days} day(s) at law enforcement's written request (164.412(a))"
    days = min(int(delay.get("days") or 30), int(hipaa_rule().law_enforcement["oral_max_days"]))
    return days, f"delayed {days} day(s) on an oral request, documented (164.412(b))"


def _meets(count: int, threshold: int, more_than: bool) -> bool:
    return count > threshold if more_than else count >= threshold


def _state_obligations(
    law: State, residents: list[dict[str, Any]], start: date, hipaa_due: date, hhs_due: date
) -> list[Obligation]:
    covered = [r for r in residents if law.covers(set(r["elements"]))]
    if not covered:
        return []
    n, code = len(covered), law.code
    out: list[Obligation] = []
    days = law.individuals.deadline_days
    due = min(hipaa_due, start + timedelta(days=days)) if days else hipaa_due
    out.append(
        Obligation(
            "individuals",
            code,
            due,
            n,
            f"Notify {n:,} {law.name} resident(s): "
            + (law.individuals.standard or "without unreasonable delay"),
            law.individuals.cite,
            law.individuals.verified,
        )
    )
    regulator = law.regulator
    if regulator is not None and _meets(n, regulator.threshold, regulator.more_than):
        wait = regulator.deadline_days
        if regulator.relative_to == "discovery":
            reg_due = start + timedelta(days=wait) if wait is not None else due
        else:
            reg_due = due + timedelta(days=wait or 0)
        out.append(
            Obligation(
                "attorney_general",
                code,
                reg_due,
                n,
                f"Notify the {regulator.name}" + (f": {regulator.form}" if regulator.form else ""),
                regulator.cite,
                regulator.verified,
            )
        )
    hipaa = law.hipaa
    if hipaa is not None and hipaa.deemed_compliant and hipaa.after_hhs_business_days is not None:
        out.append(
            Obligation(
                "attorney_general",
                f"{code}-HIPAA",
                business_days(hhs_due, hipaa.after_hhs_business_days),
                n,
                f"Send the {law.name} Attorney General a copy of the notice to HHS: "
                + hipaa.still_notify,
                hipaa.cite,
                hipaa.verified,
            )
        )
    agencies = law.agencies
    if agencies is not None and _meets(n, agencies.threshold, agencies.more_than):
        out.append(
            Obligation(
                "consumer_reporting_agencies",
                code,
                due,
                n,
                "Tell the nationwide consumer reporting agencies the timing, distribution and "
                "content of the notices",
                agencies.cite,
                agencies.verified,
            )
        )
    return out


def compute(
    conn: Connection,
    incident: dict[str, Any],
    *,
    config: Any = None,
    today: date | None = None,
    scoped: dict[str, Any] | None = None,
) -> tuple[list[Obligation], Notified]:
    """Every obligation of a decided incident, from the store (``scoped``: its scope, if
    already read)."""
    details = incident["case"]["details"] if "case" in incident else incident["details"]
    decision = details.get("decision")
    if not decision:
        raise ValueError(
            f"{incident['incident']} has no breach decision yet: record it with "
            "'phiwarden breach decide'"
        )
    people = notified(conn, incident["incident"], decision, today or date.today(), scoped)
    return plan(details, people, config), people


def plan(details: dict[str, Any], people: Notified, config: Any = None) -> list[Obligation]:
    """The obligations for these notified people, as a pure function of the incident's
    details (discovery date, law-enforcement delay) and the rules files."""
    rule = hipaa_rule(config)
    discovered = date.fromisoformat(details["discovered"])
    shift, delay_note = _delay(details)
    start = discovered + timedelta(days=shift)
    n = people.total
    if n == 0:
        return []
    hipaa_due = start + timedelta(days=int(rule.individuals["deadline_days"]))
    out = [
        Obligation(
            "individuals",
            "US",
            hipaa_due,
            n,
            f"Notify {n:,} individual(s) by first-class mail: {rule.individuals['standard']}",
            rule.individuals["cite"],
        )
    ]
    if n >= int(rule.hhs["immediate_threshold"]):
        hhs_due = start + timedelta(days=int(rule.hhs["deadline_days"]))
        out.append(
            Obligation(
                "hhs",
                "US",
                hhs_due,
                n,
                "Report to the Secretary of HHS (OCR breach portal) at the same time as the "
                "individuals: 500 or more affected",
                rule.hhs["cite"],
            )
        )
    else:
        year_end = date(discovered.year, 12, 31)
        hhs_due = year_end + timedelta(days=int(rule.hhs["annual_log_days_after_year_end"]))
        out.append(
            Obligation(
                "hhs_annual_log",
                "US",
                hhs_due,
                n,
                "Log the breach and report it to HHS within 60 days after the end of the "
                "calendar year: fewer than 500 affected",
                rule.hhs["cite"],
            )
        )
    media_over = int(rule.media["more_than"])
    for code, residents in sorted(people.by_state.items()):
        if len(residents) > media_over:
            out.append(
                Obligation(
                    "media",
                    code,
                    start + timedelta(days=int(rule.media["deadline_days"])),
                    len(residents),
                    f"Notify prominent media outlets serving {code}: more than {media_over} "
                    "residents",
                    rule.media["cite"],
                )
            )
    if people.insufficient_address:
        small = people.insufficient_address < int(rule.substitute_notice["small_below"])
        out.append(
            Obligation(
                "substitute_notice",
                "US",
                hipaa_due,
                people.insufficient_address,
                "Substitute notice by other written notice, telephone or other means"
                if small
                else "Substitute notice: a conspicuous web posting for 90 days or major print "
                "or broadcast media, and a toll-free number active at least 90 days",
                rule.substitute_notice["cite"],
            )
        )
    if people.deceased:
        out.append(
            Obligation(
                "next_of_kin",
                "US",
                hipaa_due,
                people.deceased,
                "Notify the next of kin or personal representative of each deceased person "
                "whose address is known",
                rule.next_of_kin["cite"],
            )
        )
    states = all_states(config)
    for code, residents in sorted(people.by_state.items()):
        out += _state_obligations(states[code], residents, start, hipaa_due, hhs_due)
    if delay_note:
        for item in out:
            item.notes.append(delay_note)
    out.sort(key=lambda o: (o.due, KINDS.index(o.kind), o.jurisdiction))
    return out


def as_json(
    items: list[Obligation],
    today: date,
    done: dict[str, Any] | None = None,
    owners: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The obligations as the command line and the API show them, each with its owner
    (``[owners]`` in CONFIG/breach.toml)."""
    done = done or {}
    owners = owners or {}
    rows = []
    for o in items:
        mark = done.get(o.key)
        status = "done" if mark else ("overdue" if o.due < today else "pending")
        rows.append(
            {
                "kind": o.kind,
                "jurisdiction": o.jurisdiction,
                "due": o.due.isoformat(),
                "status": status,
                "people": o.people,
                "title": o.title,
                "owner": (owners.get(o.kind) or owners.get("default") or {}).get("name", ""),
                "cite": o.cite,
                "verified": o.verified,
                "notes": o.notes,
                **({"done": mark} if mark else {}),
            }
        )
    return rows


def residence_summary(people: Notified) -> dict[str, Any]:
    """How many people per state, and how many with an unknown or foreign address."""
    counts: dict[str, int] = defaultdict(int)
    for code, residents in people.by_state.items():
        counts[code] = len(residents)
    return {
        "by_state": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "unknown_residence": len(people.unknown),
        "insufficient_address": people.insufficient_address,
        "deceased": people.deceased,
        "minors": people.minors,
        "not_notified": people.not_notified,
    }
