"""The operational store's table of red flags found by ``phiwarden redflags scan``.

A flag's id is derived from its code and subject, so scanning again updates the flags it
finds instead of adding copies, and a resolved flag stays resolved.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, String, Table, Text

from phiwarden.store.metadata import metadata

red_flags = Table(
    "red_flags",
    metadata,
    Column("flag_id", String(64), primary_key=True),
    Column("code", String(32), nullable=False),
    Column("detector", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("mrn", String(64), nullable=True),
    Column("registration_id", String(64), nullable=True),
    Column("account_id", String(64), nullable=True),
    Column("user_id", String(64), nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("detected_at", DateTime, nullable=False),
    Column("occurred_at", DateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("resolved_at", DateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    Index("ix_red_flags_code", "code"),
    Index("ix_red_flags_status", "status"),
    Index("ix_red_flags_patient_id", "patient_id"),
    comment="Red flags of identity theft (catalogue code, subject, evidence); status open | "
    "resolved | dismissed.",
)
