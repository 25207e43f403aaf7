"""breach scoping: sources, units, findings, unscannable items and reviews

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:14:58.135359
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breach_reviews",
        sa.Column("review_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_breach_reviews")),
        comment="Reviewers' decisions on people and findings (append-only; the latest holds).",
    )
    with op.batch_alter_table("breach_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_breach_reviews_incident", ["incident_id", "target", "ref"], unique=False
        )

    op.create_table(
        "breach_sources",
        sa.Column("source_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("units_done", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["case_files.case_id"],
            name=op.f("fk_breach_sources_incident_id_case_files"),
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_breach_sources")),
        sa.UniqueConstraint("incident_id", "fingerprint", name="uq_breach_sources_fingerprint"),
        comment="What was scanned for an incident (mailbox, files, monitoring population, business associate's list), its progress and totals.",
    )
    op.create_table(
        "breach_findings",
        sa.Column("finding_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.String(length=40), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("element", sa.String(length=24), nullable=False),
        sa.Column("person", sa.String(length=80), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("offsets", sa.JSON(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["breach_sources.source_id"],
            name=op.f("fk_breach_findings_source_id_breach_sources"),
        ),
        sa.PrimaryKeyConstraint("finding_id", name=op.f("pk_breach_findings")),
        comment="One element about one person in one place, with offsets and a masked snippet.",
    )
    with op.batch_alter_table("breach_findings", schema=None) as batch_op:
        batch_op.create_index("ix_breach_findings_person", ["incident_id", "person"], unique=False)
        batch_op.create_index("ix_breach_findings_unit", ["source_id", "unit_key"], unique=False)

    op.create_table(
        "breach_units",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.String(length=40), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["breach_sources.source_id"],
            name=op.f("fk_breach_units_source_id_breach_sources"),
        ),
        sa.PrimaryKeyConstraint("source_id", "unit_key", name=op.f("pk_breach_units")),
        comment="Units of a source already scanned (one message, one file): a resumed scan skips them.",
    )
    op.create_table(
        "breach_unscannable",
        sa.Column("item_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.String(length=40), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["breach_sources.source_id"],
            name=op.f("fk_breach_unscannable_source_id_breach_sources"),
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_breach_unscannable")),
        comment="Every item a scan could not read, with its place and the reason.",
    )
    with op.batch_alter_table("breach_unscannable", schema=None) as batch_op:
        batch_op.create_index("ix_breach_unscannable_incident", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("breach_unscannable", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_unscannable_incident")

    op.drop_table("breach_unscannable")
    op.drop_table("breach_units")
    with op.batch_alter_table("breach_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_findings_unit")
        batch_op.drop_index("ix_breach_findings_person")

    op.drop_table("breach_findings")
    op.drop_table("breach_sources")
    with op.batch_alter_table("breach_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_breach_reviews_incident")

    op.drop_table("breach_reviews")
