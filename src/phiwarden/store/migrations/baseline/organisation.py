"""Migration 0001, part: The hospital's organisation: facilities, departments and the
workforce who can open records."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "facilities",
        sa.Column("facility_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_facilities")),
        comment="Hospitals and clinics, each in a US state.",
    )

    op.create_table(
        "departments",
        sa.Column("department_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("facility_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.facility_id"],
            name=op.f("fk_departments_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("department_id", name=op.f("pk_departments")),
        comment="Departments; kind is one of domain.enums.DepartmentKind.",
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departments_facility_id"), ["facility_id"], unique=False
        )

    op.create_table(
        "workforce",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=255), nullable=True),
        sa.Column("hire_date", sa.Date(), nullable=True),
        sa.Column("termination_date", sa.Date(), nullable=True),
        sa.Column("address_line", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zip", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=255), nullable=True),
        sa.Column("manager_id", sa.String(length=255), nullable=True),
        sa.Column("shift_start_hour", sa.Integer(), nullable=True),
        sa.Column("shift_end_hour", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.department_id"],
            name=op.f("fk_workforce_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_workforce")),
        comment="Workforce members who can open records (EHR users). Shift hours are local 0-23.",
    )
    with op.batch_alter_table("workforce", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workforce_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_workforce_last_name"), ["last_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_workforce_login"), ["login"], unique=False)


def drop() -> None:
    """Drop the indexes and the tables."""
    with op.batch_alter_table("workforce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workforce_login"))
        batch_op.drop_index(batch_op.f("ix_workforce_last_name"))
        batch_op.drop_index(batch_op.f("ix_workforce_department_id"))

    op.drop_table("workforce")

    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_facility_id"))

    op.drop_table("departments")

    op.drop_table("facilities")
