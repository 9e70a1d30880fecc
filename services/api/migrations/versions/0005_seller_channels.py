"""Seller subscriptions from the page and their delivery outbox (Telegram, WhatsApp, email).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Two new tables; nothing existing changes. The dispatcher claims `channel_deliveries`
per channel in next-attempt order (`ix_channel_deliveries_due`); (subscription, key) is
unique so an alert is queued at most once per subscriber.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("categories", sa.JSON, nullable=True),
        sa.Column("regions", sa.JSON, nullable=True),
        sa.Column("min_probability", sa.Float, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("consent_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=True),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
    )
    op.create_table(
        "channel_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("seller_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime, nullable=True),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime, nullable=True),
        sa.UniqueConstraint("subscription_id", "key", name="uq_channel_deliveries_key"),
    )
    op.create_index(
        "ix_channel_deliveries_due", "channel_deliveries", ["channel", "status", "next_attempt_at"]
    )
    op.create_index("ix_channel_deliveries_created", "channel_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_table("channel_deliveries")
    op.drop_table("seller_subscriptions")
