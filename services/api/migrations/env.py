"""Alembic environment: the app's metadata, on the connection `services.api.schema` passes in
(or, for `alembic` run by hand, a new one to PANTAU_DATABASE_URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from services.api.db import Base, make_engine
from services.api.schema import register_tables


def _run(connection: Connection) -> None:
    register_tables()
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from shared.settings import ApiSettings

    with make_engine(ApiSettings().database_url).connect() as own:
        _run(own)
        own.commit()
