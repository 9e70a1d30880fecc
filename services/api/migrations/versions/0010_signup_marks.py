"""Seller sign-ups per recipient: a hash of the address and the time, kept a day.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

The page limits how often one mail address or WhatsApp number can be signed up in 24 h
(`PANTAU_API_SUBSCRIBE_PER_RECIPIENT_PER_DAY`); ending a subscription deletes its row,
so the count needs rows of its own. A new, empty table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_signup_marks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("recipient_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_seller_signup_marks_recipient", "seller_signup_marks", ["recipient_hash", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_seller_signup_marks_recipient", table_name="seller_signup_marks")
    op.drop_table("seller_signup_marks")
