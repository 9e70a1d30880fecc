"""Horizons and tiers: the 72 h probability beside the 24 h one, and the heads-up tier's
alert state.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

`scores_latest.probability_72h` is null for rows scored without that horizon (older
models, the growth-ratio baselines). A product's heads-up state starts armed and never
fired, as a product never seen does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scores_latest", sa.Column("probability_72h", sa.Float, nullable=True))
    with op.batch_alter_table("alert_state") as batch:
        batch.add_column(
            sa.Column("heads_up_armed", sa.Boolean, nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("heads_up_fired_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_state") as batch:
        batch.drop_column("heads_up_fired_ms")
        batch.drop_column("heads_up_armed")
    with op.batch_alter_table("scores_latest") as batch:
        batch.drop_column("probability_72h")
