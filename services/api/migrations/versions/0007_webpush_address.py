"""Web push: a subscription's address holds a browser's push endpoint and keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

The push subscription (endpoint, p256dh and auth as JSON) runs to ~500 characters with
the endpoints FCM and Mozilla hand out, past the 320 an email address needed.
Widening a VARCHAR is a catalogue change on PostgreSQL and a table copy on SQLite (a
few rows). The downgrade narrows it again and fails if a longer address is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seller_subscriptions") as batch:
        batch.alter_column(
            "address", existing_type=sa.String(320), type_=sa.String(2048), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("seller_subscriptions") as batch:
        batch.alter_column(
            "address", existing_type=sa.String(2048), type_=sa.String(320), existing_nullable=True
        )
