"""Privacy investigations: opening from alerts or a complaint with frozen evidence, each
transition with its guards and roles, the SLA timers on a controlled clock, the sanction,
suppression with the case as its reason, and "breach" opening an incident that carries
everyone the member opened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select

from conftest import analysed
from phiwarden.breach.decision import Decision
from phiwarden.breach.scope import scope
from phiwarden.cases import actions, tick, transition
from phiwarden.cases.casefile import get_case, list_cases
from phiwarden.cases.effects import Refused
from phiwarden.cases.engine import Forbidden
from phiwarden.lake.writer import append_events, conform_events
from phiwarden.monitor import queue as review_queue
from phiwarden.monitor.population import population
from phiwarden.program import evidence
from phiwarden.program.investigation import (
    decide_breach,
    determine,
    history,
    open_investigation,
    refer,
    submit,
)
from phiwarden.store.monitor_tables import alerts, suppressions
from phiwarden.store.program_tables import sanctions
from phiwarden.store.setup import Stores

T0 = datetime(2026, 12, 1, 9, 0)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, small_hospital: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    root = tmp_path_factory.mktemp(f"pi-{request.param}")
    with analysed(request.param, root, small_hospital) as stores:
        yield stores


def _users_with_alerts(stores: Stores) -> list[tuple[str, list[str]]]:
    with stores.engine.connect() as conn:
        rows = conn.execute(
            select(alerts.c.user_id, alerts.c.alert_id).order_by(
                alerts.c.score.desc(), alerts.c.user_id, alerts.c.alert_id
            )
        ).all()
    by: dict[str, list[str]] = {}
    for user, alert in rows:
        by.setdefault(user, []).append(alert)
    return list(by.items())


def _interviewed(stores: Stores, case_id: str) -> None:
    actions.record_fact(
        stores,
        case_id,
        "interview",
        "2026-12-02, with HR present: admitted looking",
        actor="ivy",
        role="investigator",
        revision=None,
        now=T0,
    )


def test_violation_sanction_and_breach_open_an_incident_with_the_population(
    site: Stores,
) -> None:
    user, alert_ids = _users_with_alerts(site)[0]
    case_id, new = open_investigation(site, actor="ivy", alert_ids=alert_ids[:1], now=T0)
    assert new and case_id.startswith("PI-")
    again, new = open_investigation(site, actor="ivy", alert_ids=alert_ids, now=T0)
    assert again == case_id and not new  # one open investigation per member
    with site.engine.connect() as conn:
        case = get_case(conn, case_id)
        statuses = {review_queue.get_alert(conn, a)["status"] for a in alert_ids}  # type: ignore[index]
    assert case is not None and case["state"] == "investigating"
    assert {t["key"] for t in case["tasks"]} == {"interview", "notify_manager", "involve_hr"}
    assert statuses == {"needs_investigation"}
    # the guards: no interview, no finding
    with pytest.raises(Refused, match="Interview"):
        submit(
            site,
            case_id,
            "looked without a reason",
            actor="ivy",
            role="investigator",
            revision=None,
            now=T0,
        )
    _interviewed(site, case_id)
    submit(
        site,
        case_id,
        "Opened charts with no care relationship",
        actor="ivy",
        role="investigator",
        revision=None,
        now=T0,
    )
    # only the Privacy Officer determines
    with pytest.raises(Forbidden):
        determine(
            site,
            case_id,
            "violation",
            "curiosity",
            actor="ivy",
            role="investigator",
            revision=None,
            level=1,
            now=T0,
        )
    with pytest.raises(Refused, match="no sanction level 7"):
        determine(
            site,
            case_id,
            "violation",
            "curiosity",
            actor="pat",
            role="privacy_officer",
            revision=None,
            level=7,
            now=T0,
        )
    determine(
        site,
        case_id,
        "violation",
        "curiosity, no disclosure",
        actor="pat",
        role="privacy_officer",
        revision=None,
        level=1,
        now=T0,
    )
    with site.engine.connect() as conn:
        case = get_case(conn, case_id)
        given = (
            conn.execute(select(sanctions).where(sanctions.c.case_id == case_id)).mappings().all()
        )
        statuses = {review_queue.get_alert(conn, a)["status"] for a in alert_ids}  # type: ignore[index]
        past = history(conn, user)
    assert case is not None and case["state"] == "violation"
    assert [(s["level"], s["user_id"]) for s in given] == [(1, user)]
    assert "Written warning in the personnel file" in given[0]["actions"]
    assert any(
        t["key"] == "apply_sanction" and t["role"] == "Human Resources" for t in case["tasks"]
    )
    assert statuses == {"violation"}
    assert past[-1]["case_id"] == case_id and past[-1]["sanctions"][0]["level"] == 1
    # "not-breach" without the four factors is refused (the presumption)
    with pytest.raises(ValueError, match="factor"):
        decide_breach(
            site,
            case_id,
            Decision(outcome="not-breach", reason="low risk"),
            actor="pat",
            role="privacy_officer",
            revision=None,
            now=T0,
        )
    out = decide_breach(
        site,
        case_id,
        Decision(outcome="breach", reason="viewed without need"),
        actor="pat",
        role="privacy_officer",
        revision=None,
        now=T0,
    )
    incident = out["incident"]
    assert incident and incident.startswith("BR-")
    details = json.loads(
        json.dumps(get_case(site.engine.connect(), case_id)["details"], default=str)
    )  # type: ignore[index]
    since, until = date.fromisoformat(details["since"]), date.fromisoformat(details["until"])
    with site.engine.connect() as conn:
        people = {p["patient_id"] for p in scope(conn, incident)["people"]}
        inc = get_case(conn, incident)
        pi = get_case(conn, case_id)
    assert people == {r["patient_id"] for r in population(site, user, since, until)}
    assert inc is not None and pi is not None
    assert inc["details"]["decision"]["outcome"] == "breach"
    assert ("investigation", case_id) in {(x["kind"], x["ref"]) for x in inc["links"]}
    assert ("incident", incident) in {(x["kind"], x["ref"]) for x in pi["links"]}
    refer(
        site,
        case_id,
        "ocr",
        date(2026, 12, 3),
        "OCR portal, breach report",
        actor="pat",
        role="privacy_officer",
        revision=None,
        now=T0 + timedelta(days=3),
    )
    with pytest.raises(Refused, match="future"):
        refer(
            site,
            case_id,
            "law_enforcement",
            date(2027, 1, 1),
            "police",
            actor="pat",
            role="privacy_officer",
            revision=None,
            now=T0 + timedelta(days=3),
        )


def test_no_violation_suppresses_with_the_case_as_reason(site: Stores) -> None:
    user, alert_ids = _users_with_alerts(site)[1]
    case_id, _ = open_investigation(site, actor="ivy", alert_ids=alert_ids, now=T0)
    _interviewed(site, case_id)
    submit(
        site,
        case_id,
        "covering a colleague's patients",
        actor="ivy",
        role="investigator",
        revision=None,
        now=T0,
    )
    # sent back for more, then submitted again
    with pytest.raises(Refused, match="reason"):
        transition.fire(
            site, case_id, "send_back", actor="pat", role="privacy_officer", revision=None
        )
    transition.fire(
        site,
        case_id,
        "send_back",
        actor="pat",
        role="privacy_officer",
        revision=None,
        reason="ask the colleague too",
    )
    submit(
        site,
        case_id,
        "covering Dr. B's patients, confirmed by Dr. B",
        actor="ivy",
        role="investigator",
        revision=None,
        now=T0,
    )
    determine(
        site,
        case_id,
        "no_violation",
        "covering a colleague",
        actor="pat",
        role="privacy_officer",
        revision=None,
        suppress=True,
        now=T0,
    )
    with site.engine.connect() as conn:
        rows = (
            conn.execute(select(suppressions).where(suppressions.c.user_id == user))
            .mappings()
            .all()
        )
        case = get_case(conn, case_id)
        shown = review_queue.suppressions_of(conn, user)
    assert rows and {r["case_id"] for r in rows} == {case_id}
    assert {s["case_id"] for s in shown} == {case_id}
    assert case is not None and case["state"] == "no_violation"
    with pytest.raises(Refused, match="summary"):
        transition.fire(site, case_id, "close", actor="pat", role="privacy_officer", revision=None)
    with pytest.raises(Refused, match="task"):
        transition.fire(
            site,
            case_id,
            "close",
            actor="pat",
            role="privacy_officer",
            revision=None,
            inputs={"summary": "covering, no violation"},
        )
    for task in case["tasks"]:
        if task["status"] == "open":
            actions.sign_task(
                site, case_id, task["task_id"], actor="pat", role="privacy_officer", revision=None
            )
    closed = transition.fire(
        site,
        case_id,
        "close",
        actor="pat",
        role="privacy_officer",
        revision=None,
        inputs={"summary": "covering, no violation"},
    )
    assert closed["state"] == "closed"
    # the member can be investigated again: a new case, not the closed one
    again, new = open_investigation(site, actor="ivy", alert_ids=alert_ids[:1], now=T0)
    assert new and again != case_id


def test_sla_timers_fire_on_a_controlled_clock(site: Stores) -> None:
    _user, alert_ids = _users_with_alerts(site)[2]
    case_id, _ = open_investigation(site, actor="ivy", alert_ids=alert_ids, now=T0)
    tick.tick(site, T0 + timedelta(days=29), deliver_outbox=False)
    with site.engine.connect() as conn:
        assert "overdue" not in get_case(conn, case_id)["details"]  # type: ignore[index]
    tick.tick(site, T0 + timedelta(days=30, minutes=1), deliver_outbox=False)
    with site.engine.connect() as conn:
        case = get_case(conn, case_id)
        rows, _ = list_cases(conn, case_type="investigation", limit=100)
    assert case is not None and case["details"]["overdue"][0]["state"] == "investigating"
    assert case_id in {r["case_id"] for r in rows}
    _interviewed(site, case_id)
    submit(
        site,
        case_id,
        "x",
        actor="ivy",
        role="investigator",
        revision=None,
        now=T0 + timedelta(days=31),
    )
    tick.tick(site, T0 + timedelta(days=38, minutes=1), deliver_outbox=False)
    with site.engine.connect() as conn:
        case = get_case(conn, case_id)
    assert case is not None and [o["state"] for o in case["details"]["overdue"]] == [
        "investigating",
        "review",
    ]


def test_a_complaint_opens_one_and_the_evidence_hash_survives_later_ingests(site: Stores) -> None:
    users = _users_with_alerts(site)
    user = users[-1][0]
    since, until = date(2000, 1, 1), date.today()
    with pytest.raises(ValueError, match="window"):
        open_investigation(site, actor="pat", user_id=user, complaint="a patient complained")
    case_id, _ = open_investigation(
        site,
        actor="pat",
        user_id=user,
        complaint="A patient says this user talked about her visit",
        since=since,
        until=until,
        now=T0,
    )
    before = evidence.load(site, case_id)
    assert before.ok and before.content["user"]["user_id"] == user
    n = len(before.content["accesses"])
    assert n > 0 and all(
        o["explained_by"] is None or isinstance(o["explained_by"], str)
        for o in before.content["openings"]
    )
    # a later ingest adds accesses by the same member inside the window
    last = datetime.fromisoformat(before.content["accesses"][-1]["ts"])
    extra = pa.table(
        {
            "event_id": [f"late-{i}" for i in range(3)],
            "ts": [last + timedelta(seconds=i + 1) for i in range(3)],
            "user_id": [user] * 3,
            "patient_id": [before.content["patients"][0]] * 3,
            "action": ["view"] * 3,
        }
    )
    append_events(site.settings.lake_dir, conform_events(extra), "late")
    after = evidence.load(site, case_id)
    assert after.ok and after.computed == before.computed
    assert len(after.content["accesses"]) == n
    fresh = evidence.take(site, user, since, until, [], T0)
    assert len(fresh["accesses"]) == n + 3  # the lake did change; the snapshot did not
