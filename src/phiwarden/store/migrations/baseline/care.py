"""Migration 0001, part: Care: appointments, calls, encounters and their care team, orders,
prescriptions and lab results."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "appointments",
        sa.Column("appointment_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.String(length=255), nullable=True),
        sa.Column("provider_user_id", sa.String(length=255), nullable=True),
        sa.Column("scheduled_by_user_id", sa.String(length=255), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.department_id"],
            name=op.f("fk_appointments_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_appointments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_appointments_provider_user_id_workforce"),
        ),
        sa.ForeignKeyConstraint(
            ["scheduled_by_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_appointments_scheduled_by_user_id_workforce"),
        ),
        sa.PrimaryKeyConstraint("appointment_id", name=op.f("pk_appointments")),
        comment="Scheduled visits and who booked them.",
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointments_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_provider_user_id"), ["provider_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_scheduled_by_user_id"),
            ["scheduled_by_user_id"],
            unique=False,
        )

    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("caller_phone", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_calls_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["workforce.user_id"], name=op.f("fk_calls_user_id_workforce")
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls")),
        comment="Call-center call records; patient_id is who the call was about.",
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_user_id"), ["user_id"], unique=False)

    op.create_table(
        "encounters",
        sa.Column("encounter_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=True),
        sa.Column("department_id", sa.String(length=255), nullable=True),
        sa.Column("facility_id", sa.String(length=255), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("attending_user_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["attending_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_encounters_attending_user_id_workforce"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.department_id"],
            name=op.f("fk_encounters_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.facility_id"],
            name=op.f("fk_encounters_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_encounters_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("encounter_id", name=op.f("pk_encounters")),
        comment="Visits and stays; end empty while open.",
    )
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_encounters_attending_user_id"), ["attending_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_encounters_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_encounters_facility_id"), ["facility_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_encounters_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_encounters_start"), ["start"], unique=False)

    op.create_table(
        "care_team",
        sa.Column("care_team_id", sa.String(length=255), nullable=False),
        sa.Column("encounter_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.encounter_id"],
            name=op.f("fk_care_team_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["workforce.user_id"], name=op.f("fk_care_team_user_id_workforce")
        ),
        sa.PrimaryKeyConstraint("care_team_id", name=op.f("pk_care_team")),
        comment="Members of an encounter's care team.",
    )
    with op.batch_alter_table("care_team", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_team_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_team_user_id"), ["user_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("encounter_id", sa.String(length=255), nullable=True),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("ordered_by_user_id", sa.String(length=255), nullable=True),
        sa.Column("performing_department_id", sa.String(length=255), nullable=True),
        sa.Column("ordered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.encounter_id"],
            name=op.f("fk_orders_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["ordered_by_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_orders_ordered_by_user_id_workforce"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_orders_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["performing_department_id"],
            ["departments.department_id"],
            name=op.f("fk_orders_performing_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
        comment="Lab, radiology and other orders; performing department does the work.",
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_encounter_id"), ["encounter_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_ordered_by_user_id"), ["ordered_by_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_orders_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_performing_department_id"),
            ["performing_department_id"],
            unique=False,
        )

    op.create_table(
        "prescriptions",
        sa.Column("prescription_id", sa.String(length=255), nullable=False),
        sa.Column("encounter_id", sa.String(length=255), nullable=True),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("prescriber_user_id", sa.String(length=255), nullable=True),
        sa.Column("drug", sa.String(length=255), nullable=False),
        sa.Column("dea_schedule", sa.String(length=255), nullable=True),
        sa.Column("prescribed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.encounter_id"],
            name=op.f("fk_prescriptions_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_prescriptions_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_prescriptions_prescriber_user_id_workforce"),
        ),
        sa.PrimaryKeyConstraint("prescription_id", name=op.f("pk_prescriptions")),
        comment="Medication orders; dea_schedule is 'II'..'V' for controlled substances, empty otherwise.",
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescriptions_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prescriptions_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_prescriptions_prescriber_user_id"), ["prescriber_user_id"], unique=False
        )

    op.create_table(
        "lab_results",
        sa.Column("result_id", sa.String(length=255), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=True),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("test", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=True),
        sa.Column("resulted_by_user_id", sa.String(length=255), nullable=True),
        sa.Column("resulted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name=op.f("fk_lab_results_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_lab_results_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["resulted_by_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_lab_results_resulted_by_user_id_workforce"),
        ),
        sa.PrimaryKeyConstraint("result_id", name=op.f("pk_lab_results")),
        comment="Lab results; test 'ABO/Rh' carries the blood type.",
    )
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lab_results_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lab_results_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lab_results_resulted_by_user_id"), ["resulted_by_user_id"], unique=False
        )


def drop() -> None:
    """Drop the indexes and the tables."""
    with op.batch_alter_table("lab_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lab_results_resulted_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_lab_results_patient_id"))
        batch_op.drop_index(batch_op.f("ix_lab_results_order_id"))

    op.drop_table("lab_results")

    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescriptions_prescriber_user_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_patient_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_encounter_id"))

    op.drop_table("prescriptions")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_performing_department_id"))
        batch_op.drop_index(batch_op.f("ix_orders_patient_id"))
        batch_op.drop_index(batch_op.f("ix_orders_ordered_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_orders_encounter_id"))

    op.drop_table("orders")

    with op.batch_alter_table("care_team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_team_user_id"))
        batch_op.drop_index(batch_op.f("ix_care_team_encounter_id"))

    op.drop_table("care_team")

    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encounters_start"))
        batch_op.drop_index(batch_op.f("ix_encounters_patient_id"))
        batch_op.drop_index(batch_op.f("ix_encounters_facility_id"))
        batch_op.drop_index(batch_op.f("ix_encounters_department_id"))
        batch_op.drop_index(batch_op.f("ix_encounters_attending_user_id"))

    op.drop_table("encounters")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_user_id"))
        batch_op.drop_index(batch_op.f("ix_calls_patient_id"))

    op.drop_table("calls")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_scheduled_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_provider_user_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_patient_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_department_id"))

    op.drop_table("appointments")
