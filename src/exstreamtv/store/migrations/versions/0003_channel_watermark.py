"""channel watermark and the default stream profile flag

Adds ``channels.watermark_corner`` and ``channels.watermark_opacity`` (both ``NULL``: no
watermark, which is what existing channels keep) and ``stream_profiles.is_default``. The
built-in profile named ``default`` that 0001 inserted becomes the default.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watermark_corner", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("watermark_opacity", sa.Float(), nullable=True))
    with op.batch_alter_table("stream_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    profiles = sa.table(
        "stream_profiles", sa.column("name", sa.String), sa.column("is_default", sa.Boolean)
    )
    op.execute(profiles.update().where(profiles.c.name == "default").values(is_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("stream_profiles", schema=None) as batch_op:
        batch_op.drop_column("is_default")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("watermark_opacity")
        batch_op.drop_column("watermark_corner")
