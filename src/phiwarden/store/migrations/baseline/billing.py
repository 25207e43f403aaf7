"""Migration 0001, part: Coverage, accounts, registrations, complaints, eligibility
responses and transactions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create() -> None:
    """Create the tables and their indexes."""
    op.create_table(
        "coverages",
        sa.Column("coverage_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("payer", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.String(length=255), nullable=False),
        sa.Column("subscriber_first_name", sa.String(length=255), nullable=True),
        sa.Column("subscriber_last_name", sa.String(length=255), nullable=True),
        sa.Column("subscriber_dob", sa.Date(), nullable=True),
        sa.Column("subscriber_relationship", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_coverages_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("coverage_id", name=op.f("pk_coverages")),
        comment="Insurance coverages; the subscriber may be another person.",
    )
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverages_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coverages_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "billing_accounts",
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("guarantor_contact_id", sa.String(length=255), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("balance", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("suspended_until", sa.Date(), nullable=True),
        sa.Column("returned_mail_count", sa.Integer(), nullable=True),
        sa.Column("last_returned_mail_at", sa.DateTime(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["guarantor_contact_id"],
            ["patient_contacts.contact_id"],
            name=op.f("fk_billing_accounts_guarantor_contact_id_patient_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_billing_accounts_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_billing_accounts")),
        comment="Covered accounts; status active | suspended | closed | collections.",
    )
    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_accounts_guarantor_contact_id"),
            ["guarantor_contact_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_billing_accounts_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "registrations",
        sa.Column("registration_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("mrn", sa.String(length=255), nullable=True),
        sa.Column("registered_by_user_id", sa.String(length=255), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("facility_id", sa.String(length=255), nullable=True),
        sa.Column("encounter_id", sa.String(length=255), nullable=True),
        sa.Column("presented_first_name", sa.String(length=255), nullable=True),
        sa.Column("presented_last_name", sa.String(length=255), nullable=True),
        sa.Column("presented_dob", sa.Date(), nullable=True),
        sa.Column("presented_sex", sa.String(length=255), nullable=True),
        sa.Column("presented_ssn_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("presented_ssn_hash", sa.String(length=64), nullable=True),
        sa.Column("presented_ssn_last4", sa.String(length=4), nullable=True),
        sa.Column("presented_address_line", sa.String(length=255), nullable=True),
        sa.Column("presented_city", sa.String(length=255), nullable=True),
        sa.Column("presented_state", sa.String(length=255), nullable=True),
        sa.Column("presented_zip", sa.String(length=255), nullable=True),
        sa.Column("presented_phone", sa.String(length=255), nullable=True),
        sa.Column("presented_payer", sa.String(length=255), nullable=True),
        sa.Column("presented_member_id", sa.String(length=255), nullable=True),
        sa.Column("id_type", sa.String(length=255), nullable=True),
        sa.Column("id_number_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("id_number_last4", sa.String(length=4), nullable=True),
        sa.Column("id_checked", sa.Boolean(), nullable=True),
        sa.Column("photo_on_file", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.encounter_id"],
            name=op.f("fk_registrations_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.facility_id"],
            name=op.f("fk_registrations_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.patient_id"],
            name=op.f("fk_registrations_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_user_id"],
            ["workforce.user_id"],
            name=op.f("fk_registrations_registered_by_user_id_workforce"),
        ),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_registrations")),
        comment="Registrations at check-in with the identifiers the person presented.",
    )
    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registrations_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_facility_id"), ["facility_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_id_number_hash"), ["id_number_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registrations_mrn"), ["mrn"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registrations_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_presented_ssn_hash"), ["presented_ssn_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_registered_at"), ["registered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrations_registered_by_user_id"),
            ["registered_by_user_id"],
            unique=False,
        )

    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=255), nullable=False),
        sa.Column("patient_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.account_id"],
            name=op.f("fk_complaints_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.patient_id"], name=op.f("fk_complaints_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaints")),
        comment="Complaints about bills, EOBs, collection notices or credit reports for care not received.",
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "eligibility_responses",
        sa.Column("response_id", sa.String(length=255), nullable=False),
        sa.Column("registration_id", sa.String(length=255), nullable=True),
        sa.Column("coverage_id", sa.String(length=255), nullable=True),
        sa.Column("payer", sa.String(length=255), nullable=True),
        sa.Column("member_id", sa.String(length=255), nullable=False),
        sa.Column("loop", sa.String(length=255), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=255), nullable=True),
        sa.Column("ssn_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_hash", sa.String(length=64), nullable=True),
        sa.Column("ssn_last4", sa.String(length=4), nullable=True),
        sa.Column("address_line", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("zip", sa.String(length=255), nullable=True),
        sa.Column("aaa_code", sa.String(length=255), nullable=True),
        sa.Column("ins_changed", sa.Boolean(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.coverage_id"],
            name=op.f("fk_eligibility_responses_coverage_id_coverages"),
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registrations.registration_id"],
            name=op.f("fk_eligibility_responses_registration_id_registrations"),
        ),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_eligibility_responses")),
        comment="X12 271 answers: the identity the payer holds for a member, per registration.",
    )
    with op.batch_alter_table("eligibility_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eligibility_responses_coverage_id"), ["coverage_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eligibility_responses_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eligibility_responses_registration_id"),
            ["registration_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_eligibility_responses_ssn_hash"), ["ssn_hash"], unique=False
        )

    op.create_table(
        "transactions",
        sa.Column("transaction_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("encounter_id", sa.String(length=255), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("adjustment_code", sa.String(length=255), nullable=True),
        sa.Column("payer", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_accounts.account_id"],
            name=op.f("fk_transactions_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.encounter_id"],
            name=op.f("fk_transactions_encounter_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_transactions")),
        comment="Charges, payer and patient payments, adjustments (with a code).",
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transactions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transactions_encounter_id"), ["encounter_id"], unique=False
        )


def drop() -> None:
    """Drop the indexes and the tables."""
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_encounter_id"))
        batch_op.drop_index(batch_op.f("ix_transactions_account_id"))

    op.drop_table("transactions")

    with op.batch_alter_table("eligibility_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eligibility_responses_ssn_hash"))
        batch_op.drop_index(batch_op.f("ix_eligibility_responses_registration_id"))
        batch_op.drop_index(batch_op.f("ix_eligibility_responses_member_id"))
        batch_op.drop_index(batch_op.f("ix_eligibility_responses_coverage_id"))

    op.drop_table("eligibility_responses")

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_patient_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_account_id"))

    op.drop_table("complaints")

    with op.batch_alter_table("registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrations_registered_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_registrations_registered_at"))
        batch_op.drop_index(batch_op.f("ix_registrations_presented_ssn_hash"))
        batch_op.drop_index(batch_op.f("ix_registrations_patient_id"))
        batch_op.drop_index(batch_op.f("ix_registrations_mrn"))
        batch_op.drop_index(batch_op.f("ix_registrations_id_number_hash"))
        batch_op.drop_index(batch_op.f("ix_registrations_facility_id"))
        batch_op.drop_index(batch_op.f("ix_registrations_encounter_id"))

    op.drop_table("registrations")

    with op.batch_alter_table("billing_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_accounts_patient_id"))
        batch_op.drop_index(batch_op.f("ix_billing_accounts_guarantor_contact_id"))

    op.drop_table("billing_accounts")

    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverages_patient_id"))
        batch_op.drop_index(batch_op.f("ix_coverages_member_id"))

    op.drop_table("coverages")
