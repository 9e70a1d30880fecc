"""Channel deliveries: when the attempt in progress started.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

The lane commits `attempt_started_at` before each request to a provider and clears it
with the result, so a row taken over after a crash is known to be a possible repeat.
A nullable column without a default: a catalogue change on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_deliveries") as batch:
        batch.add_column(sa.Column("attempt_started_at", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_deliveries") as batch:
        batch.drop_column("attempt_started_at")
