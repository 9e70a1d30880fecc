"""The store's schema version: Alembic migrations under services/api/migrations.

`upgrade_schema` brings a database to the newest revision (`pantau db upgrade`). A
service starting on a database calls `ensure_schema`: it upgrades only when asked
(`PANTAU_API_MIGRATE_ON_START`), creates an empty database at the newest revision (a
fresh install, the demo, every test), accepts one already there, and otherwise stops
with `SchemaNotCurrent`, so a schema change on live data is always a deliberate step.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Held for the duration of an upgrade on PostgreSQL, so replicas starting together on
# an empty database migrate it once, one after the other.
_PG_MIGRATION_LOCK = 7_261_733_501


class SchemaNotCurrent(RuntimeError):
    """The database is not at the revision this code needs."""


def register_tables() -> None:
    """Import every module that declares tables, so `Base.metadata` holds them all."""
    import services.api.auth
    import services.api.catalogue_store
    import services.api.channels.models
    import services.api.store
    import services.api.terms
    import services.api.webhooks.models  # noqa: F401


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision of the migrations shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None when it was never migrated (empty, or made by
    `create_all` before migrations existed)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> str:
    """Upgrade the database to the newest revision (a no-op there); returns it."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        command.upgrade(_config(connection), "head")
    return head_revision()


def ensure_schema(engine: Engine, migrate: bool = False) -> None:
    """Make sure the database is at the newest revision before a service uses it.

    `migrate`: upgrade whatever is there. Otherwise only an empty database is created
    (at the newest revision); one at an older revision, or made before migrations, is
    refused with `SchemaNotCurrent`, which says to run `pantau db upgrade`.
    """
    head = head_revision()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        empty = current is None and not inspect(connection).get_table_names()
    if current == head:
        return
    if migrate or empty:
        upgrade_schema(engine)
        return
    found = f"revision {current}" if current else "a schema made before migrations"
    raise SchemaNotCurrent(
        f"the database ({engine.url.render_as_string(hide_password=True)}) has {found}, "
        f"this release needs revision {head}: run `pantau db upgrade` "
        "(or set PANTAU_API_MIGRATE_ON_START=true)"
    )
