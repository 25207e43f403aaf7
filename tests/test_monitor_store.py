"""Monitoring's store on SQLite and PostgreSQL: migration, alerts, cases, decisions, baselines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from phiwarden.monitor import queue as review_queue
from phiwarden.monitor import store as ms
from phiwarden.monitor import user_days as ud
from phiwarden.store.migrate import alembic_config, upgrade
from phiwarden.store.monitor_tables import alerts, cases, monitor_runs
from phiwarden.store.schema import EXPRESSION_INDEXES, include_object, metadata
from phiwarden.store.setup import Stores

MONITOR_TABLES = {
    "monitor_runs",
    "monitor_user_days",
    "cases",
    "alerts",
    "alert_decisions",
    "suppressions",
}
W1 = (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
W2 = (dt.date(2026, 3, 9), dt.date(2026, 3, 15))
T0 = dt.datetime(2026, 3, 9, 6, 0)


def _reason(code: str, patients: list[str], weight: float = 1.0) -> dict[str, Any]:
    return {
        "code": code,
        "title": code.replace("_", " "),
        "text": f"{code} for {len(patients)} patients",
        "weight": weight,
        "patient_ids": patients,
        "evidence": {"first_seen": dt.date(2026, 3, 3), "count": len(patients)},
    }


def _draft(user: str, score: float, patients: list[str], code: str = "coworker") -> ms.AlertDraft:
    return ms.AlertDraft(
        user_id=user,
        score=score,
        reasons=[_reason(code, patients), _reason("after_hours", [])],
        patient_ids=patients,
        accesses=len(patients) * 2,
    )


def _save(
    stores: Stores, window: tuple[dt.date, dt.date], drafts: list[ms.AlertDraft]
) -> list[str]:
    with stores.engine.begin() as conn:
        run = ms.start_run(conn, window[0], window[1], "duckdb")
        ids = ms.save_alerts(conn, run, window[0], window[1], drafts, now=T0)
        ms.finish_run(conn, run, {"alerts": len(ids)})
    return ids


def test_migration_creates_the_monitoring_tables(stores: Stores) -> None:
    insp = inspect(stores.engine)
    assert set(insp.get_table_names()) >= MONITOR_TABLES
    assert {c["name"] for c in insp.get_columns("alerts")} == {
        "alert_id",
        "run_id",
        "case_id",
        "user_id",
        "window_start",
        "window_end",
        "score",
        "status",
        "reasons",
        "patient_ids",
        "accesses",
        "created_at",
        "updated_at",
    }
    assert {i["name"] for i in insp.get_indexes("alerts")} >= {
        "ix_alerts_user_id",
        *(name for name in EXPRESSION_INDEXES if name.startswith("ix_alerts_")),
    }
    assert insp.get_pk_constraint("monitor_user_days")["constrained_columns"] == ["user_id", "day"]
    uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("suppressions")}
    assert ("user_id", "patient_id", "code") in uniques


def test_autogenerate_finds_no_difference_at_head(stores: Stores) -> None:
    with stores.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_downgrade_drops_the_monitoring_tables_and_upgrade_restores_them(stores: Stores) -> None:
    cfg = alembic_config(stores.engine.url.render_as_string(hide_password=False))
    with stores.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    names = set(inspect(stores.engine).get_table_names())
    assert names & MONITOR_TABLES == set()
    assert {"patients", "ingest_runs"} <= names
    upgrade(stores.engine)
    assert set(inspect(stores.engine).get_table_names()) >= MONITOR_TABLES


def test_runs_record_window_engine_and_stats(stores: Stores) -> None:
    _save(stores, W1, [_draft("U1", 3.5, ["P1"])])
    with stores.engine.connect() as conn:
        run = conn.execute(select(monitor_runs)).mappings().one()
    assert (run["window_start"], run["window_end"], run["engine"]) == (*W1, "duckdb")
    assert run["stats"] == {"alerts": 1}
    assert run["finished_at"] is not None and run["finished_at"].tzinfo is None


def test_resaving_a_window_updates_the_undecided_alert(stores: Stores) -> None:
    first = _save(stores, W1, [_draft("U1", 3.5, ["P1"]), _draft("U2", 9.0, ["P7", "P8"])])
    assert first[0] == ms.alert_id_for("U1", *W1)
    assert first[0].startswith("A") and len(first[0]) == 13
    second = _save(stores, W1, [_draft("U1", 5.25, ["P1", "P2"])])
    assert second == first[:1]
    with stores.engine.connect() as conn:
        assert review_queue.count_alerts(conn) == 2
        queue = review_queue.list_alerts(conn)
        alert = review_queue.get_alert(conn, first[0])
        run_ids = sorted(conn.execute(select(monitor_runs.c.run_id)).scalars())
        assert len(conn.execute(select(cases)).all()) == 2
    assert [(a["user_id"], a["score"]) for a in queue] == [("U2", 9.0), ("U1", 5.25)]
    assert alert is not None
    assert alert["patient_ids"] == ["P1", "P2"]
    assert alert["accesses"] == 4
    assert alert["run_id"] == run_ids[-1]
    assert alert["status"] == "new" and alert["decisions"] == []
    assert alert["reasons"][0]["patient_ids"] == ["P1", "P2"]
    assert alert["reasons"][0]["evidence"] == {"first_seen": "2026-03-03", "count": 2}


def test_a_later_window_joins_the_same_open_case(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1"])])
    (a2,) = _save(stores, W2, [_draft("U1", 4.0, ["P3"])])
    assert a1 != a2
    with stores.engine.connect() as conn:
        case_id = ms.open_case_of(conn, "U1")
        assert case_id is not None and case_id.startswith("C") and len(case_id) == 11
        case = review_queue.get_case(conn, case_id)
        assert ms.open_case_of(conn, "U9") is None
        assert review_queue.get_case(conn, "Cnope") is None
    assert case is not None
    assert case["alert_ids"] == [a1, a2]
    assert (case["user_id"], case["status"], case["kind"]) == ("U1", "open", "access")
    assert case["opened_at"] == T0 and case["closed_at"] is None


def test_a_decided_alert_is_not_overwritten_by_a_rerun(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1"])])
    with stores.engine.begin() as conn:
        ms.decide(conn, a1, "needs_investigation", note="ask manager", decided_by="analyst1")
    _save(stores, W1, [_draft("U1", 8.0, ["P1", "P2", "P3"])])
    with stores.engine.connect() as conn:
        alert = review_queue.get_alert(conn, a1)
        assert review_queue.list_alerts(conn, status="new") == []
        assert review_queue.count_alerts(conn, "needs_investigation") == 1
    assert alert is not None
    assert (alert["status"], alert["score"], alert["patient_ids"]) == (
        "needs_investigation",
        3.5,
        ["P1"],
    )
    assert [(d["decision"], d["note"], d["decided_by"]) for d in alert["decisions"]] == [
        ("needs_investigation", "ask manager", "analyst1")
    ]


def test_appropriate_suppresses_and_closes_the_case(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1", "P2"])])
    (a2,) = _save(stores, W2, [_draft("U1", 4.0, ["P3"], code="same_last_name")])
    _save(stores, W2, [_draft("U2", 2.0, ["P9"])])
    decided = dt.datetime(2026, 3, 20, 10, 30)
    with stores.engine.begin() as conn:
        case_id = ms.open_case_of(conn, "U1")
        assert case_id is not None
        ms.decide(conn, a1, "appropriate", note="family", decided_by="analyst1", now=decided)
        case = review_queue.get_case(conn, case_id)
        assert case is not None and case["status"] == "open"  # a2 is still new
        ms.decide(conn, a2, "appropriate", note="same name", decided_by="analyst1", now=decided)
        ms.decide(conn, a2, "appropriate", note="again", decided_by="analyst2", now=decided)
    with stores.engine.connect() as conn:
        case = review_queue.get_case(conn, case_id)
        assert ms.suppressed(conn) == {
            ("U1", "P1", "coworker"),
            ("U1", "P2", "coworker"),
            ("U1", "P3", "same_last_name"),
        }
        assert ms.suppressed(conn, ["U2"]) == set()
        assert len(ms.suppressed(conn, ["U1", "U2"])) == 3
        assert ms.open_case_of(conn, "U1") is None
        alert = review_queue.get_alert(conn, a2)
    assert case is not None
    assert (case["status"], case["closed_at"]) == ("closed", decided)
    assert alert is not None and [d["decided_by"] for d in alert["decisions"]] == [
        "analyst1",
        "analyst2",
    ]
    # A new alert after the case closed opens a new case.
    (a3,) = _save(stores, (dt.date(2026, 3, 16), dt.date(2026, 3, 22)), [_draft("U1", 1.0, ["P4"])])
    with stores.engine.connect() as conn:
        new_case = ms.open_case_of(conn, "U1")
        assert new_case is not None and new_case != case_id
        found = review_queue.get_case(conn, new_case)
    assert found is not None and found["alert_ids"] == [a3]


def test_violation_keeps_the_case_open(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1"])])
    (a2,) = _save(stores, W2, [_draft("U1", 4.0, ["P3"])])
    with stores.engine.begin() as conn:
        ms.decide(conn, a1, "violation", note="snooping", decided_by="privacy")
        ms.decide(conn, a2, "appropriate", note="treating", decided_by="privacy")
    with stores.engine.connect() as conn:
        case_id = ms.open_case_of(conn, "U1")
        assert case_id is not None
        case = review_queue.get_case(conn, case_id)
        statuses = dict(conn.execute(select(alerts.c.alert_id, alerts.c.status)).tuples().all())
        assert ms.suppressed(conn) == {("U1", "P3", "coworker")}
    assert case is not None and (case["status"], case["closed_at"]) == ("open", None)
    assert statuses == {a1: "violation", a2: "appropriate"}


def test_reversing_appropriate_withdraws_suppressions_and_reopens(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1", "P2"])])
    with stores.engine.begin() as conn:
        case_id = ms.open_case_of(conn, "U1")
        ms.decide(conn, a1, "appropriate", note="family", decided_by="analyst1")
        assert ms.open_case_of(conn, "U1") is None and len(ms.suppressed(conn)) == 2
        ms.decide(conn, a1, "violation", note="new facts", decided_by="privacy")
    with stores.engine.connect() as conn:
        assert ms.suppressed(conn) == set()
        assert ms.open_case_of(conn, "U1") == case_id


def test_bad_decision_and_unknown_alert_are_refused(stores: Stores) -> None:
    (a1,) = _save(stores, W1, [_draft("U1", 3.5, ["P1"])])
    with stores.engine.begin() as conn:
        with pytest.raises(ValueError, match="appropriate, needs_investigation, violation"):
            ms.decide(conn, a1, "ok", note="", decided_by="analyst1")
        with pytest.raises(LookupError, match="Anope"):
            ms.decide(conn, "Anope", "violation", note="", decided_by="analyst1")
    with stores.engine.connect() as conn:
        alert = review_queue.get_alert(conn, a1)
        assert review_queue.get_alert(conn, "Anope") is None
    assert alert is not None and (alert["status"], alert["decisions"]) == ("new", [])


def test_list_alerts_filters_and_pages(stores: Stores) -> None:
    ids = _save(
        stores,
        W1,
        [_draft("U1", 2.0, ["P1"]), _draft("U2", 7.0, ["P2"]), _draft("U3", 7.0, ["P3"])],
    )
    with stores.engine.begin() as conn:
        ms.decide(conn, ids[0], "violation", note="x", decided_by="a")
        top = [a["alert_id"] for a in review_queue.list_alerts(conn)]
        page = [a["alert_id"] for a in review_queue.list_alerts(conn, limit=1, offset=1)]
        mine = [a["alert_id"] for a in review_queue.list_alerts(conn, user_id="U3")]
        new = [a["alert_id"] for a in review_queue.list_alerts(conn, status="new")]
        assert (review_queue.count_alerts(conn), review_queue.count_alerts(conn, "new")) == (3, 2)
    assert top == [*sorted(ids[1:]), ids[0]]
    assert page == [sorted(ids[1:])[1]]
    assert mine == [ids[2]]
    assert new == sorted(ids[1:])


def test_list_alerts_sorts_by_recent_and_user_and_counts_one_user(stores: Stores) -> None:
    old = _save(stores, W1, [_draft("U2", 9.0, ["P1"]), _draft("U1", 2.0, ["P2"])])
    new = _save(stores, W2, [_draft("U2", 1.0, ["P3"]), _draft("U1", 3.0, ["P4"])])
    with stores.engine.connect() as conn:
        recent = [a["alert_id"] for a in review_queue.list_alerts(conn, sort="recent")]
        by_user = [a["alert_id"] for a in review_queue.list_alerts(conn, sort="user")]
        assert review_queue.count_alerts(conn, user_id="U1") == 2
        assert review_queue.count_alerts(conn, "new", "U2") == 2
        with pytest.raises(ValueError, match="unknown sort"):
            review_queue.list_alerts(conn, sort="size")
    assert recent == [new[1], new[0], old[0], old[1]]
    assert by_user == [new[1], old[1], new[0], old[0]]


@pytest.mark.parametrize("sort", list(review_queue.ALERT_ORDERS))
@pytest.mark.parametrize("status", [None, "new"])
def test_every_queue_order_pages_off_an_index(
    stores: Stores, sort: str, status: str | None
) -> None:
    # deep pages of 100k alerts stay fast only if no order sorts the whole queue
    stmt = review_queue.alert_page_query(status=status, sort=sort, limit=50, offset=5000)
    with stores.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "USING INDEX ix_alerts_" in plan and "TEMP B-TREE" not in plan, plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table is always scanned
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "Index Scan" in plan and "Sort" not in plan, plan


def _day(user: str, day: dt.date, n: int) -> dict[str, Any]:
    return {
        "user_id": user,
        "day": day,
        "accesses": n,
        "patients": n - 1,
        "unexplained_accesses": n // 2,
        "unexplained_patients": n // 3,
        "after_hours_patients": 1,
    }


def test_upsert_user_days_replaces_and_reads_back_by_range(stores: Stores) -> None:
    d1, d2, d3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
    with stores.engine.begin() as conn:
        ud.upsert_user_days(conn, [_day("U1", d1, 10), _day("U2", d1, 4), _day("U1", d3, 6)])
        ud.upsert_user_days(conn, [_day("U1", d1, 20), _day("U1", d2, 8)])
        ud.upsert_user_days(conn, [])
    with stores.engine.connect() as conn:
        table = ud.user_days(conn, d1, d2)
        empty = ud.user_days(conn, dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    assert table.schema == ud.USER_DAY_SCHEMA
    assert table.to_pylist() == [
        _day("U1", d1, 20),
        _day("U2", d1, 4),
        _day("U1", d2, 8),
    ]
    assert empty.num_rows == 0 and empty.schema == ud.USER_DAY_SCHEMA


@pytest.mark.slow
def test_upsert_user_days_handles_200k_rows(stores: Stores) -> None:
    start = dt.date(2026, 1, 1)
    rows = [
        _day(f"U{u:04d}", start + dt.timedelta(days=d), 5 + (u + d) % 7)
        for u in range(2000)
        for d in range(100)
    ]
    with stores.engine.begin() as conn:
        ud.upsert_user_days(conn, rows)
        ud.upsert_user_days(conn, [_day("U0000", start, 99)])
    with stores.engine.connect() as conn:
        table = ud.user_days(conn, start, start + dt.timedelta(days=99))
    assert table.num_rows == 200_000
    assert table.slice(0, 1).to_pylist() == [_day("U0000", start, 99)]


def test_upsert_user_days_takes_an_arrow_table_and_refuses_a_repeated_day(
    stores: Stores,
) -> None:
    d1, d2 = dt.date(2026, 4, 1), dt.date(2026, 4, 2)
    rows = [_day("A1", d1, 9), _day("A2", d1, 3), _day("A1", d2, 12)]
    table = pa.Table.from_pylist(rows, schema=ud.USER_DAY_SCHEMA)
    with stores.engine.begin() as conn:
        ud.upsert_user_days(conn, table)
        ud.upsert_user_days(conn, pa.Table.from_pylist([_day("A1", d1, 30)], ud.USER_DAY_SCHEMA))
    with stores.engine.connect() as conn:
        back = ud.user_days(conn, d1, d2)
    assert back.to_pylist() == [_day("A1", d1, 30), _day("A2", d1, 3), _day("A1", d2, 12)]
    twice = pa.Table.from_pylist([_day("A3", d1, 1), _day("A3", d1, 2)], ud.USER_DAY_SCHEMA)
    with stores.engine.begin() as conn, pytest.raises(ValueError, match="repeat"):
        ud.upsert_user_days(conn, twice)
