"""An incident's scope as the store holds it: each affected person once across every
source, with the elements exposed, the evidence, the earliest and latest dates, and the
reviewers' decisions; the unlinked people; and what could not be read.

A reviewer confirms or rejects a person or a single finding. A rejected person leaves the
notification list; a rejected finding no longer counts (a person left with none leaves
too). Decisions are append-only (the latest holds), each one written to the incident's
timeline in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, insert, select

from phiwarden.cases.effects import Refused
from phiwarden.cases.engine import change
from phiwarden.store.breach_tables import (
    breach_findings,
    breach_reviews,
    breach_sources,
    breach_unscannable,
)
from phiwarden.store.repositories import domain_table
from phiwarden.store.setup import Stores

Decision = Literal["confirmed", "rejected"]
DECISIONS: tuple[str, ...] = ("confirmed", "rejected")


def decisions(conn: Connection, incident_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The decision in force on each (target, ref): the latest review."""
    r = breach_reviews.c
    rows = conn.execute(
        select(r.target, r.ref, r.decision, r.reason, r.reviewer, r.at)
        .where(r.incident_id == incident_id)
        .order_by(r.review_id)
    ).mappings()
    return {(row["target"], row["ref"]): dict(row) for row in rows}


def scope(conn: Connection, incident_id: str, *, with_rejected: bool = False) -> dict[str, Any]:
    """The people (patients), the unlinked people and the unscannable items of an incident,
    rejected ones left out unless asked for."""
    decided = decisions(conn, incident_id)
    rejected_findings = [
        int(ref)
        for (target, ref), d in decided.items()
        if target == "finding" and d["decision"] == "rejected"
    ]
    f = breach_findings.c
    query = (
        select(
            f.person,
            f.patient_id,
            f.label,
            f.element,
            func.count().label("evidence"),
            func.min(f.seen_at).label("first_seen"),
            func.max(f.seen_at).label("last_seen"),
            func.min(f.place).label("place"),
        )
        .where(f.incident_id == incident_id)
        .group_by(f.person, f.patient_id, f.label, f.element)
    )
    if rejected_findings:
        query = query.where(f.finding_id.not_in(rejected_findings))
    people: dict[str, dict[str, Any]] = {}
    places: dict[str, set[str]] = defaultdict(set)
    for row in conn.execute(query).mappings():
        key = row["person"]
        person = people.setdefault(
            key,
            {
                "person": key,
                "patient_id": row["patient_id"],
                "label": row["label"],
                "elements": set(),
                "evidence": 0,
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
            },
        )
        person["elements"].add(row["element"])
        person["evidence"] += int(row["evidence"])
        for end, pick in (("first_seen", min), ("last_seen", max)):
            values = [v for v in (person[end], row[end]) if v is not None]
            person[end] = pick(values) if values else None
        if len(places[key]) < 5:
            places[key].add(row["place"])
    patients = _patients(conn, [p["patient_id"] for p in people.values() if p["patient_id"]])
    linked, unlinked = [], []
    for key, person in people.items():
        review = decided.get(("person", key))
        state = review["decision"] if review else "pending"
        if state == "rejected" and not with_rejected:
            continue
        base = {
            "elements": sorted(person["elements"]),
            "evidence": person["evidence"],
            "first_seen": _day(person["first_seen"]),
            "last_seen": _day(person["last_seen"]),
            "review": state,
        }
        if person["patient_id"]:
            p = patients.get(person["patient_id"], {})
            linked.append(
                {
                    "patient_id": person["patient_id"],
                    "mrn": p.get("mrn"),
                    "name": p.get("name") or "",
                    **base,
                }
            )
        else:
            unlinked.append(
                {"person": key, "name": person["label"], "where": sorted(places[key]), **base}
            )
    linked.sort(key=lambda p: (p["name"], str(p["mrn"])))
    unlinked.sort(key=lambda p: p["name"])
    u = breach_unscannable.c
    unreadable = [
        {"where": r["place"], "reason": r["reason"]}
        for r in conn.execute(
            select(u.place, u.reason).where(u.incident_id == incident_id).order_by(u.item_id)
        ).mappings()
    ]
    return {
        "incident": incident_id,
        "people": linked,
        "unlinked": unlinked,
        "unscannable": unreadable,
    }


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _patients(conn: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    p = domain_table("patients")
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        for r in conn.execute(
            select(p.c.patient_id, p.c.mrn, p.c.first_name, p.c.last_name).where(
                p.c.patient_id.in_(chunk)
            )
        ).mappings():
            name = " ".join(x for x in (r["first_name"], r["last_name"]) if x)
            found[str(r["patient_id"])] = {"mrn": r["mrn"], "name": name}
    return found


def evidence(conn: Connection, incident_id: str, person: str) -> list[dict[str, Any]]:
    """Every finding about one person (a patient id or an unlinked key): where, which
    element, the offsets and the masked snippet, and the decision on it."""
    decided = decisions(conn, incident_id)
    f = breach_findings.c
    rows = conn.execute(
        select(f.finding_id, f.place, f.element, f.offsets, f.snippet, f.seen_at, f.occurrences)
        .where(f.incident_id == incident_id, f.person == person)
        .order_by(f.finding_id)
    ).mappings()
    out = []
    for r in rows:
        review = decided.get(("finding", str(r["finding_id"])))
        out.append(
            {
                "finding_id": r["finding_id"],
                "where": r["place"],
                "element": r["element"],
                "offsets": r["offsets"],
                "snippet": r["snippet"],
                "seen_at": r["seen_at"].isoformat() if r["seen_at"] else None,
                "occurrences": r["occurrences"],
                "review": review["decision"] if review else "pending",
            }
        )
    return out


def sources(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    """What was scanned for an incident, with progress and totals."""
    s = breach_sources.c
    rows = conn.execute(
        select(breach_sources).where(s.incident_id == incident_id).order_by(s.source_id)
    ).mappings()
    return [{k: v for k, v in r.items() if k != "fingerprint"} for r in rows]


def review(
    stores: Stores,
    incident_id: str,
    target: Literal["person", "finding"],
    ref: str,
    decision: str,
    *,
    reviewer: str,
    reason: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Confirm or reject a person or a finding; the decision is in force at once and is
    written to the incident's timeline."""
    if decision not in DECISIONS:
        raise Refused(f"unknown decision {decision!r}: use confirmed or rejected")
    if decision == "rejected" and not reason.strip():
        raise Refused("say why the finding or person is rejected")
    f = breach_findings.c
    at = (now or datetime.now()).replace(microsecond=0)
    with stores.engine.begin() as conn:
        if target == "person":
            row = conn.execute(
                select(f.patient_id, f.label)
                .where(f.incident_id == incident_id, f.person == ref)
                .limit(1)
            ).first()
            what = f"person {row[0] or row[1]}" if row else None
        elif target == "finding":
            if not ref.isdigit() or int(ref) > 2**62:
                raise Refused(f"finding ids are numbers, not {ref!r}")
            row = conn.execute(
                select(f.element, f.place).where(
                    f.incident_id == incident_id, f.finding_id == int(ref)
                )
            ).first()
            what = f"finding {ref} ({row[0]} in {row[1]})" if row else None
        else:
            raise Refused(f"review a person or a finding, not {target!r}")
        if what is None:
            raise LookupError(f"no {target} {ref} in incident {incident_id}")
        conn.execute(
            insert(breach_reviews).values(
                incident_id=incident_id,
                target=target,
                ref=ref,
                decision=decision,
                reason=reason.strip(),
                reviewer=reviewer,
                at=at,
            )
        )
        summary = f"{decision.capitalize()} {what}" + (
            f": {reason.strip()}" if reason.strip() else ""
        )
        change(
            stores,
            incident_id,
            None,
            reviewer,
            lambda ctx: ctx.event("review", summary, detail={"target": target, "ref": ref}),
            now=at,
            conn=conn,
        )
    return {"incident": incident_id, "target": target, "ref": ref, "decision": decision}
