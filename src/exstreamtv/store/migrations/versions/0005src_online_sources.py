"""online sources: the Jellyfin/Emby user, and the settings of online sources

Adds to ``media_sources`` the Jellyfin/Emby user whose playlists are read (``user_id``) and
the public settings of an online source (``settings``: what it reads and how; its secrets
stay sealed in ``credential``). Existing rows get ``NULL`` and ``{}``.

Revision ID: 0005src
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005src"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.drop_column("settings")
        batch_op.drop_column("user_id")
