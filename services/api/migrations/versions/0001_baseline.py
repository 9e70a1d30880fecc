"""Baseline: every table and index the API had before migrations.

Revision ID: 0001
Revises:
Create Date: 2026-12-07

Databases made before migrations existed were built by `create_all`, which only ever
added tables and indexes; this revision creates whichever of them are missing, so it
adopts such a database (keeping its rows) as readily as it fills an empty one. The
tables are a frozen copy, not the app's models: later changes belong in later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_meta = sa.MetaData()

sa.Table(
    "scores_latest",
    _meta,
    sa.Column("product_id", sa.String(128), primary_key=True),
    sa.Column("tick_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("probability", sa.Float, nullable=False, index=True),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("category", sa.String(256), nullable=True, index=True),
    sa.Column("product_name", sa.String(256), nullable=True),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("regions_text", sa.String(512), nullable=False),
    sa.Column("platforms_text", sa.String(256), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Index(
        "ix_latest_rank_covering", sa.text("score DESC"), "product_id", "probability", "tick_ms"
    ),
    sa.Index("ix_latest_category_rank", "category", sa.text("score DESC"), "product_id"),
    sa.Index("ix_latest_tick", "tick_ms"),
)
sa.Table(
    "scores_history",
    _meta,
    sa.Column("product_id", sa.String(128), primary_key=True),
    sa.Column("tick_ms", sa.BigInteger, primary_key=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("events_1h", sa.Float, nullable=False),
    sa.Column("events_24h", sa.Float, nullable=False),
)
sa.Table(
    "alerts",
    _meta,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("product_id", sa.String(128), nullable=False, index=True),
    sa.Column("tick_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("category", sa.String(256), nullable=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
)
sa.Table(
    "alert_state",
    _meta,
    sa.Column("product_id", sa.String(128), primary_key=True),
    sa.Column("last_tick_ms", sa.BigInteger, nullable=False),
    sa.Column("armed", sa.Boolean, nullable=False),
    sa.Column("last_fired_ms", sa.BigInteger, nullable=True),
)
sa.Table(
    "api_keys",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)
sa.Table(
    "webhook_subscriptions",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("previous_secret", sa.String(128), nullable=True),
    sa.Column("previous_secret_expires_at", sa.DateTime, nullable=True),
    sa.Column("categories", sa.JSON, nullable=True),
    sa.Column("regions", sa.JSON, nullable=True),
    sa.Column("min_score", sa.Float, nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("disabled_at", sa.DateTime, nullable=True),
    sa.Column("disabled_reason", sa.String(500), nullable=True),
    sa.Column("failing_since", sa.DateTime, nullable=True),
)
sa.Table(
    "webhook_deliveries",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("msg_id", sa.String(64), nullable=False, unique=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("delivered_at", sa.DateTime, nullable=True),
    sa.Column("lease_token", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime, nullable=True),
    sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
)


def upgrade() -> None:
    bind = op.get_bind()
    _meta.create_all(bind, checkfirst=True)
    for table in _meta.sorted_tables:
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    _meta.drop_all(op.get_bind())
