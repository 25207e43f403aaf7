"""Migration 0001, part: The master patient index with address and phone history, contacts
and merges, and the fraud watch list."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "fraud_watch",
        sa.Column("watch_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("watch_id", name=op.f("pk_fraud_watch")),
        comment="Addresses and phones tied to known fraud (kind address | phone).",
    )
    with op.batch_alter_table("fraud_watch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fraud_watch_value"), ["value"], unique=False)

    op.create_table(
        "patients",
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("mrn", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("middle_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("previous_names", sa.Text(), nullable=True),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=255), nullable=True),
        sa.Column("ssn_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_hash", sa.String(length=64), nullable=True),
        sa.Column("ssn_last4", sa.String(length=4), nullable=True),
        sa.Column("address_line", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zip", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("deceased_date", sa.Date(), nullable=True),
        sa.Column("vip", sa.Boolean(), nullable=True),
        sa.Column("watch_list", sa.Boolean(), nullable=True),
        sa.Column("employee_user_id", sa.String(length=255), nullable=True),
        sa.Column("blood_type", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_patients_employee_user_id_workforce"),
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patients")),
        comment="The master patient index. ssn is the plain number in the input only; the store keeps it encrypted with a keyed hash. previous_names is ';'-separated 'Last, First'.",
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_dob"), ["dob"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patients_employee_user_id"), ["employee_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patients_last_name"), ["last_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_mrn"), ["mrn"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_ssn_hash"), ["ssn_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_zip"), ["zip"], unique=False)

    op.create_table(
        "patient_addresses",
        sa.Column("address_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("address_line", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zip", sa.String(length=255), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_addresses_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("address_id", name=op.f("pk_patient_addresses")),
        comment="Address history; valid_to empty means current.",
    )
    with op.batch_alter_table("patient_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_addresses_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "patient_contacts",
        sa.Column("contact_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=False),
        sa.Column("relationship", sa.String(length=255), nullable=True),
        sa.Column("address_line", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zip", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_contacts_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_patient_contacts")),
        comment="Next of kin, emergency contact, guarantor, insurance subscriber (domain.enums.ContactKind).",
    )
    with op.batch_alter_table("patient_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_contacts_last_name"), ["last_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_contacts_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patient_contacts_phone"), ["phone"], unique=False)

    op.create_table(
        "patient_merges",
        sa.Column("merge_id", sa.String(length=255), nullable=False),
        sa.Column("surviving_patient_id", sa.String(length=255), nullable=False),
        sa.Column("merged_patient_id", sa.String(length=255), nullable=True),
        sa.Column("merged_mrn", sa.String(length=255), nullable=False),
        sa.Column("merged_at", sa.DateTime(), nullable=True),
        sa.Column("merged_by_user_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_by_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_patient_merges_merged_by_user_id_workforce"),
        ),
        sa.ForeignKeyConstraint(
            ["surviving_patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_merges_surviving_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("merge_id", name=op.f("pk_patient_merges")),
        comment="Duplicate charts merged into a surviving one (HL7 ADT A40); merged_mrn is retired.",
    )
    with op.batch_alter_table("patient_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_merges_merged_by_user_id"), ["merged_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_merges_surviving_patient_id"),
            ["surviving_patient_id"],
            unique=False,
        )

    op.create_table(
        "patient_phones",
        sa.Column("phone_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_patient_phones_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("phone_id", name=op.f("pk_patient_phones")),
        comment="All phone numbers of a patient (home, mobile, work).",
    )
    with op.batch_alter_table("patient_phones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_phones_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patient_phones_phone"), ["phone"], unique=False)


def drop() -> None:
    """Drop the indexes and the tables."""
    with op.batch_alter_table("patient_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_phones_phone"))
        batch_op.drop_index(batch_op.f("ix_patient_phones_patient_id"))

    op.drop_table("patient_phones")

    with op.batch_alter_table("patient_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_merges_surviving_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_merges_merged_by_user_id"))

    op.drop_table("patient_merges")

    with op.batch_alter_table("patient_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_contacts_phone"))
        batch_op.drop_index(batch_op.f("ix_patient_contacts_patient_id"))
        batch_op.drop_index(batch_op.f("ix_patient_contacts_last_name"))

    op.drop_table("patient_contacts")

    with op.batch_alter_table("patient_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_addresses_patient_id"))

    op.drop_table("patient_addresses")

    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_zip"))
        batch_op.drop_index(batch_op.f("ix_patients_ssn_hash"))
        batch_op.drop_index(batch_op.f("ix_patients_phone"))
        batch_op.drop_index(batch_op.f("ix_patients_mrn"))
        batch_op.drop_index(batch_op.f("ix_patients_last_name"))
        batch_op.drop_index(batch_op.f("ix_patients_employee_user_id"))
        batch_op.drop_index(batch_op.f("ix_patients_dob"))

    op.drop_table("patients")

    with op.batch_alter_table("fraud_watch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fraud_watch_value"))

    op.drop_table("fraud_watch")
