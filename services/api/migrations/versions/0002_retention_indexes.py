"""Indexes the retention job deletes by: score history by tick, deliveries by creation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Without them each bounded delete of old rows scans the whole table.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_scores_history_tick", "scores_history", ["tick_ms"])
    op.create_index("ix_webhook_deliveries_created", "webhook_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_created", "webhook_deliveries")
    op.drop_index("ix_scores_history_tick", "scores_history")
