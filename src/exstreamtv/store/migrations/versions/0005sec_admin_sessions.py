"""admin sessions: web UI sessions as server-side rows; the signing secret leaves the database

Creates ``admin_sessions`` (one row per signed-in browser, keyed digest and expiry) and
deletes the old ``ui_session_secret`` from ``app_state``: the key now lives in a 0600 file
in the data directory, so a copy of the database can no longer mint sessions. Browsers
signed in before the upgrade sign in again.

Revision ID: 0005sec
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005sec"
down_revision = "0004"
branch_labels = None
depends_on = None

EXPIRY_INDEX = "ix_admin_sessions_expires_at"


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(EXPIRY_INDEX, "admin_sessions", ["expires_at"])
    op.execute(sa.text("DELETE FROM app_state WHERE key = 'ui_session_secret'"))


def downgrade() -> None:
    op.drop_index(EXPIRY_INDEX, table_name="admin_sessions")
    op.drop_table("admin_sessions")
