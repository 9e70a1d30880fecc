"""The catalogue (products, aliases, keywords, hashtags) with its version, and the context
kept for emerging terms (co-occurring words, example links).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Version 0 is the empty catalogue: its one row is written by the first change, so an
upgraded store reads version 0 until then.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_products",
        sa.Column("product_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("category", sa.String(256), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("hashtags", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "term_context",
        sa.Column("term", sa.String(128), primary_key=True),
        sa.Column("words", sa.JSON, nullable=False),
        sa.Column("examples", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("term_context")
    op.drop_table("catalogue_version")
    op.drop_table("catalogue_products")
