"""Alembic environment: runs on the connection phiwarden hands over, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from phiwarden.store.schema import include_object, metadata

config = context.config


def run() -> None:
    """Run migrations online (phiwarden always has a live database)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


run()
