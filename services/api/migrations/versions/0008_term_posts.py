"""Term context: the posts that named a term, each once, for its last 7 days.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Word counts were added up on every report, so a video polled every hour counted for its
words every hour. The context now keeps the posts themselves ({id: [seen_ms, words]},
bounded) and counts each once. Rows written before have no posts (null): their word
counts stay as they were, counted as reported without posts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("term_context") as batch:
        batch.add_column(sa.Column("posts", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("term_context") as batch:
        batch.drop_column("posts")
