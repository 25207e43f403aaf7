"""The operational store's tables for identity: the linkage index and the trained model.

``phiwarden link`` writes one row per patient with the normalised matching columns and
the cluster (person) it belongs to, and the trained model's parameters. Screening a
registration looks candidates up here by the indexed blocking keys and scores them with
the stored parameters: no retraining, no scan.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, String, Table

from phiwarden.store.metadata import metadata

identity_index = Table(
    "identity_index",
    metadata,
    Column("patient_id", String(64), primary_key=True),
    Column("mrn", String(64), nullable=True),
    Column("first_name", String(128), nullable=True),
    Column("first_formal", String(128), nullable=True),
    Column("last_name", String(128), nullable=True),
    Column("last_phonetic", String(64), nullable=True),
    Column("dob", String(10), nullable=True),
    Column("sex", String(1), nullable=True),
    Column("ssn_hash", String(64), nullable=True),
    Column("ssn_last4", String(4), nullable=True),
    Column("address_key", String(256), nullable=True),
    Column("city", String(128), nullable=True),
    Column("postcode", String(16), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("member_id", String(64), nullable=True),
    Column("cluster_id", String(64), nullable=True),
    Index("ix_identity_index_ssn_hash", "ssn_hash"),
    Index("ix_identity_index_dob_last_phonetic", "dob", "last_phonetic"),
    Index("ix_identity_index_dob_first_formal", "dob", "first_formal"),
    Index("ix_identity_index_phone", "phone"),
    Index("ix_identity_index_address_key", "address_key"),
    Index("ix_identity_index_name_zip", "first_formal", "last_phonetic", "postcode"),
    Index("ix_identity_index_cluster_id", "cluster_id"),
    comment="Normalised matching columns of every patient and the person (cluster) it "
    "belongs to, written by 'phiwarden link'; indexed by the blocking keys for screening.",
)

identity_models = Table(
    "identity_models",
    metadata,
    Column("model_id", Integer, primary_key=True, autoincrement=True),
    Column("trained_at", DateTime, nullable=False),
    Column("engine", String(32), nullable=False),
    Column("records", Integer, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("parameters", JSON, nullable=False),
    comment="Trained linkage models: prior and log2 Bayes factor of each comparison level; "
    "the newest one scores real-time screening.",
)
