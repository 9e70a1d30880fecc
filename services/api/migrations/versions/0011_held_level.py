"""The newest tick at which a product was under its confident level.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

A calibrated model's rows without creators alert only once the product has held its
confident level for `PANTAU_ALERT_WITHOUT_CREATORS_HOLD_MS`; `alert_state.low_ms` is what
the engine needs to know that across batches and restarts. Null in a state written
before this column: the engine then counts the hold from the product's next score, as for
a product it has never seen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_state") as batch:
        batch.add_column(sa.Column("low_ms", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_state") as batch:
        batch.drop_column("low_ms")
