"""media servers: Plex, Jellyfin and Emby sources

Adds to ``media_sources`` the server URL, the encrypted credential, the server's own id and
the path mappings; to ``libraries`` the server's library id; to ``media_items`` the server's
item id, its change stamp and the key its file is streamed by. Existing rows are kept: local
sources and items get ``NULL`` (path mappings ``[]``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

REMOTE_INDEX = "ix_media_items_library_remote"


def upgrade() -> None:
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("server_id", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("path_mappings", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("remote_stamp", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("stream_key", sa.Text(), nullable=True))
        batch_op.create_index(REMOTE_INDEX, ["library_id", "remote_id"])


def downgrade() -> None:
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_index(REMOTE_INDEX)
        batch_op.drop_column("stream_key")
        batch_op.drop_column("remote_stamp")
        batch_op.drop_column("remote_id")
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.drop_column("external_id")
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.drop_column("path_mappings")
        batch_op.drop_column("server_id")
        batch_op.drop_column("credential")
        batch_op.drop_column("url")
