"""The one SQLAlchemy ``MetaData`` every table of the operational store belongs to, with
the naming convention its constraints and indexes follow (so Alembic names them the same
on SQLite and PostgreSQL). Table modules import it from here; ``schema`` gathers them."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
