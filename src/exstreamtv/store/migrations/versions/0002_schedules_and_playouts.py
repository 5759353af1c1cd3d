"""schedules, filler presets and playouts

Adds ``filler_presets``, ``schedules``, ``channels.schedule_id``, ``playout_entries`` and
``playouts``. Existing rows are kept: channels get no schedule (``NULL``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEDULE_FK = "fk_channels_schedule_id_schedules"


def upgrade() -> None:
    op.create_table(
        "filler_presets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # SQLite cannot add a foreign key to an existing table: batch mode copies the table.
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            SCHEDULE_FK, "schedules", ["schedule_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "playout_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finish", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_item_id", sa.Integer(), nullable=True),
        sa.Column("in_point_ms", sa.BigInteger(), nullable=False),
        sa.Column("out_point_ms", sa.BigInteger(), nullable=False),
        sa.Column("guide_group", sa.BigInteger(), nullable=False),
        sa.Column("guide_title", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["media_item_id"], ["media_items.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("playout_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_playout_entries_channel_start", ["channel_id", "start"], unique=True
        )
        batch_op.create_index("ix_playout_entries_channel_group", ["channel_id", "guide_group"])
    op.create_table(
        "playouts",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("last_build_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_mode", sa.String(length=16), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade() -> None:
    op.drop_table("playouts")
    with op.batch_alter_table("playout_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_playout_entries_channel_group")
        batch_op.drop_index("ix_playout_entries_channel_start")
    op.drop_table("playout_entries")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_constraint(SCHEDULE_FK, type_="foreignkey")
        batch_op.drop_column("schedule_id")
    op.drop_table("schedules")
    op.drop_table("filler_presets")
