"""cut playout entries and the reason media went missing

Adds ``playout_entries.cut`` (``false`` for every stored entry: nothing built before was
cut to fit) and ``media_items.missing_reason`` (``NULL``: items already missing keep no
reason, and are reported as "not found").

Revision ID: 0005eng
Revises: 0005sec
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005eng"
down_revision = "0005sec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("playout_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cut", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missing_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_column("missing_reason")
    with op.batch_alter_table("playout_entries", schema=None) as batch_op:
        batch_op.drop_column("cut")
