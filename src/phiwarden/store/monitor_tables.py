"""The operational store's tables for access monitoring: runs, daily baselines, casework.

They share ``schema.metadata`` (``schema`` imports this module at its end), so Alembic
autogenerate and ``initialise`` see them with the domain tables. An alert is one user's
findings for one window; alerts of the same user gather in that user's open case;
analysts' decisions are kept as history, and "appropriate" ones become suppressions so
the same explained access is not raised again.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from phiwarden.store.metadata import metadata

monitor_runs = Table(
    "monitor_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("engine", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("stats", JSON, nullable=True),
    comment="One row per monitoring run over a window of days; finished_at empty means "
    "it did not complete.",
)

monitor_user_days = Table(
    "monitor_user_days",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("accesses", Integer, nullable=False),
    Column("patients", Integer, nullable=False),
    Column("unexplained_accesses", Integer, nullable=False),
    Column("unexplained_patients", Integer, nullable=False),
    Column("after_hours_patients", Integer, nullable=False),
    comment="Per-user daily access counts, stored so a later run scores a new day against "
    "history without recomputing it.",
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False, default="access"),
    Column("status", String(16), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("summary", Text, nullable=True),
    comment="A user's alerts gathered for investigation (status open | closed); a user "
    "has at most one open case.",
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(32), primary_key=True),
    Column("run_id", Integer, ForeignKey("monitor_runs.run_id"), nullable=False, index=True),
    Column("case_id", String(32), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("score", Float, nullable=False),
    Column("status", String(24), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("patient_ids", JSON, nullable=False),
    Column("accesses", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "window_start", "window_end"),
    # The queue's orders (monitor.queue.ALERT_ORDERS), unfiltered and by status: every
    # page comes off an index instead of a sort of the whole queue.
    Index("ix_alerts_queue", text("score DESC"), "alert_id"),
    Index("ix_alerts_recent", text("window_end DESC"), text("score DESC"), "alert_id"),
    Index("ix_alerts_by_user", "user_id", text("window_end DESC"), "alert_id"),
    Index("ix_alerts_status_queue", "status", text("score DESC"), "alert_id"),
    Index(
        "ix_alerts_status_recent", "status", text("window_end DESC"), text("score DESC"), "alert_id"
    ),
    Index("ix_alerts_status_by_user", "status", "user_id", text("window_end DESC"), "alert_id"),
    comment="One user's findings for one window (status new | appropriate | "
    "needs_investigation | violation); reasons and patient_ids are JSON lists.",
)

alert_decisions = Table(
    "alert_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(32), ForeignKey("alerts.alert_id"), nullable=False, index=True),
    Column("decision", String(24), nullable=False),
    Column("note", Text, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime, nullable=False),
    comment="Every decision an analyst took on an alert, oldest first; the alert's status "
    "is the latest one.",
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("suppression_id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("code", String(48), nullable=False),
    Column("alert_id", String(32), nullable=True),
    Column("case_id", String(32), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "patient_id", "code"),
    # case_id: the investigation whose no-violation finding justified it (else alert_id)
    comment="(user, patient, reason code) triples judged appropriate: monitoring does not "
    "raise them again.",
)
