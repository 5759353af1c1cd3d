"""online sources: the Jellyfin/Emby user, and the settings of online sources

Adds to ``media_sources`` the Jellyfin/Emby user whose playlists are read (``user_id``) and
the public settings of an online source (``settings``: what it reads and how; its secrets
stay sealed in ``credential``); existing rows get ``NULL`` and ``{}``. Adds
``live_listings``: the programmes a live item's source guide lists.

Revision ID: 0006src
Revises: 0005ui
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006src"
down_revision = "0005ui"
branch_labels = None
depends_on = None


LISTINGS_INDEX = "ix_live_listings_item_start"


def upgrade() -> None:
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "live_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_item_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("sub_title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["media_item_id"], ["media_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(LISTINGS_INDEX, "live_listings", ["media_item_id", "start"])


def downgrade() -> None:
    op.drop_index(LISTINGS_INDEX, table_name="live_listings")
    op.drop_table("live_listings")
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.drop_column("settings")
        batch_op.drop_column("user_id")
