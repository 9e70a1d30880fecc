"""Index the webhook dispatcher claims by: each subscription's oldest due deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

A claim reads, per subscription, at most its endpoint's allowance of pending deliveries
in next-attempt order; with this index that is one short range scan each, whatever the
backlog behind any endpoint.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_subscription_due",
        "webhook_deliveries",
        ["subscription_id", "status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_subscription_due", "webhook_deliveries")
