"""Schema migrations on both stores: they build exactly the models' schema, and a
database made by the previous release (before migrations) is upgraded by `pantau db
upgrade` with its rows kept; services refuse an outdated schema unless asked to migrate."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from services.api.db import Base, make_engine, make_sessionmaker
from services.api.intake import ScoreIntake
from services.api.schema import (
    MIGRATIONS_DIR,
    SchemaNotCurrent,
    current_revision,
    ensure_schema,
    head_revision,
    register_tables,
    upgrade_schema,
)
from services.api.store import AlertStateRecord
from services.cli import app

REPO = Path(__file__).resolve().parents[2]
TICK_MS = 1_772_409_600_000
HOUR_MS = 3_600_000


def _previous_release_metadata() -> sa.MetaData:
    """The schema as the release before migrations built it with `create_all` (0641dbb):
    the baseline revision's frozen tables without `alert_state`."""
    path = MIGRATIONS_DIR / "versions" / "0001_baseline.py"
    spec = importlib.util.spec_from_file_location("baseline_0001", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    old = sa.MetaData()
    for table in module._meta.sorted_tables:
        if table.name != "alert_state":
            table.to_metadata(old)
    return old


def test_migrations_build_the_models_schema(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    assert upgrade_schema(engine) == head_revision()
    register_tables()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_pantau_db_upgrade_keeps_a_previous_release_database(
    empty_database_url: str, make_scores: Callable[..., Any]
) -> None:
    engine = make_engine(empty_database_url)
    old = _previous_release_metadata()
    old.create_all(engine)
    now = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    t = old.tables
    with engine.begin() as connection:
        row = make_scores({"a": 0.9}, TICK_MS).row(0, named=True)
        connection.execute(
            t["scores_latest"].insert(),
            {
                "product_id": "a",
                "tick_ms": TICK_MS,
                "probability": 0.9,
                "score": 9.0,
                "model_version": "old-1",
                "category": row["category"],
                "product_name": "Produk a",
                "regions": ["ID-JT"],
                "regions_text": ",ID-JT,",
                "platforms_text": ",tiktok,",
                "reasons": [],
                "evidence": {},
            },
        )
        connection.execute(
            t["scores_history"].insert(),
            {
                "product_id": "a",
                "tick_ms": TICK_MS,
                "probability": 0.9,
                "score": 9.0,
                "model_version": "old-1",
                "events_1h": 1.0,
                "events_24h": 2.0,
            },
        )
        connection.execute(
            t["alerts"].insert(),
            {
                "id": "alert-a",
                "product_id": "a",
                "tick_ms": TICK_MS,
                "category": "makanan",
                "probability": 0.9,
                "body": {"id": "alert-a"},
            },
        )
        connection.execute(
            t["api_keys"].insert(),
            {"name": "ops", "scope": "admin", "key_hash": "0" * 64, "created_at": now},
        )
        connection.execute(
            t["webhook_subscriptions"].insert(),
            {
                "id": 1,
                "url": "https://hooks.koperasi.test/",
                "secret": "whsec_x",
                "min_score": 0.0,
                "language": "id",
                "created_at": now,
            },
        )
        connection.execute(
            t["webhook_deliveries"].insert(),
            {
                "subscription_id": 1,
                "msg_id": "msg_1",
                "event_type": "trend.alert",
                "payload": "{}",
                "attempts": 0,
                "next_attempt_at": now,
                "status": "pending",
                "created_at": now,
            },
        )
    # A service refuses it, saying what to do; nothing was changed.
    with pytest.raises(SchemaNotCurrent, match="pantau db upgrade"):
        ensure_schema(engine)
    assert current_revision(engine) is None
    refused = subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", "create", "--name", "ops"],
        env={**os.environ, "PANTAU_DATABASE_URL": empty_database_url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("pantau: the database (")
    assert "run `pantau db upgrade`" in refused.stderr and len(refused.stderr.splitlines()) == 1

    upgraded = subprocess.run(
        [sys.executable, "-m", "services.cli", "db", "upgrade"],
        env={**os.environ, "PANTAU_DATABASE_URL": empty_database_url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"to {head_revision()}" in upgraded.stdout
    assert current_revision(engine) == head_revision()
    ensure_schema(engine)  # now accepted
    counts = {}
    with engine.connect() as connection:
        for name in (
            "scores_latest",
            "scores_history",
            "alerts",
            "api_keys",
            "webhook_subscriptions",
            "webhook_deliveries",
            "alert_state",
        ):
            counts[name] = connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
        indexes = {i["name"] for i in sa.inspect(connection).get_indexes("scores_history")}
    assert counts == {
        "scores_latest": 1,
        "scores_history": 1,
        "alerts": 1,
        "api_keys": 1,
        "webhook_subscriptions": 1,
        "webhook_deliveries": 1,
        "alert_state": 0,
    }
    assert "ix_scores_history_tick" in indexes
    # The upgraded store works: "a" alerted before, is still high, so no repeat; its state
    # is written to the new table.
    sessions = make_sessionmaker(engine)
    intake = ScoreIntake(sessions)
    assert intake.apply(make_scores({"a": 0.95}, TICK_MS + HOUR_MS)) == []
    with sessions() as session:
        assert session.get(AlertStateRecord, "a") is not None
    again = CliRunner().invoke(
        app, ["db", "upgrade"], env={"PANTAU_DATABASE_URL": empty_database_url}
    )
    assert again.exit_code == 0 and "already at revision" in again.stdout
    engine.dispose()


def test_an_older_revision_is_refused_unless_migrating(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    from alembic import command

    from services.api.schema import _config

    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001")
    with pytest.raises(SchemaNotCurrent, match="revision 0001"):
        ensure_schema(engine)
    ensure_schema(engine, migrate=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_an_empty_database_is_created_at_head(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_plain_postgresql_url_uses_psycopg_3() -> None:
    engine = make_engine("postgresql://pantau@127.0.0.1:1/pantau")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
