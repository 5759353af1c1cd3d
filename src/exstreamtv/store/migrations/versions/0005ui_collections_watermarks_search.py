"""automatic and multi collections, watermark settings, full-text search of media

* ``collections.automatic`` (scans keep show, season and library collections in sync) and
  ``collections.library_id`` (a library collection's library; deleted with it);
* ``collection_members``: the collections a multi-collection includes, in order;
* ``channels.watermark_*``: the watermark's image, size, margins and intermittent timing
  (all ``NULL``: what existing channels had: the logo at its own size, always shown);
* full-text search of titles, shows, plots and genres for smart collections: on SQLite an
  FTS5 index (``media_search``, external content kept in step by triggers), on PostgreSQL
  GIN indexes on ``to_tsvector('simple', ...)`` of the same columns;
* an index on ``media_items.created_at`` for "added" filters.

SQLite drops triggers with their table: a later migration that rebuilds ``media_items``
(``batch_alter_table`` with ``recreate``) must create the three triggers again.

Revision ID: 0005ui
Revises: 0005eng
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005ui"
down_revision = "0005eng"
branch_labels = None
depends_on = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE media_search USING fts5(title, show, plot, genre_index, "
    "content='media_items', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER media_search_insert AFTER INSERT ON media_items BEGIN "
    "INSERT INTO media_search(rowid, title, show, plot, genre_index) "
    "VALUES (new.id, new.title, new.show, new.plot, new.genre_index); END",
    "CREATE TRIGGER media_search_delete AFTER DELETE ON media_items BEGIN "
    "INSERT INTO media_search(media_search, rowid, title, show, plot, genre_index) "
    "VALUES ('delete', old.id, old.title, old.show, old.plot, old.genre_index); END",
    "CREATE TRIGGER media_search_update AFTER UPDATE OF title, show, plot, genre_index "
    "ON media_items BEGIN "
    "INSERT INTO media_search(media_search, rowid, title, show, plot, genre_index) "
    "VALUES ('delete', old.id, old.title, old.show, old.plot, old.genre_index); "
    "INSERT INTO media_search(rowid, title, show, plot, genre_index) "
    "VALUES (new.id, new.title, new.show, new.plot, new.genre_index); END",
    "INSERT INTO media_search(media_search) VALUES ('rebuild')",
)
# The expressions must stay identical to store/media_search.py, or PostgreSQL cannot use them.
POSTGRES_SEARCH = (
    "CREATE INDEX ix_media_items_search ON media_items USING gin (to_tsvector('simple', "
    "coalesce(title, '') || ' ' || coalesce(show, '') || ' ' || coalesce(plot, '') || ' ' "
    "|| coalesce(genre_index, '')))",
    "CREATE INDEX ix_media_items_title_search ON media_items "
    "USING gin (to_tsvector('simple', coalesce(title, '')))",
)
WATERMARK_FLOATS = ("size_percent", "margin_x_percent", "margin_y_percent")
WATERMARK_INTS = ("every_minutes", "for_seconds")


def upgrade() -> None:
    op.add_column(
        "collections",
        sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # Added in place (never a batch rebuild): on SQLite, rebuilding the table would delete
    # every manual collection's items through their ON DELETE CASCADE. SQLite takes the
    # reference inline (ALTER TABLE ... ADD COLUMN ... REFERENCES), PostgreSQL separately.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE collections ADD COLUMN library_id INTEGER "
            "CONSTRAINT fk_collections_library_id_libraries "
            "REFERENCES libraries (id) ON DELETE CASCADE"
        )
    else:
        op.add_column("collections", sa.Column("library_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_collections_library_id_libraries", "collections", "libraries",
            ["library_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip
    op.create_table(
        "collection_members",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["collections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["collections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("collection_id", "member_id"),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watermark_image", sa.Text(), nullable=True))
        for name in WATERMARK_FLOATS:
            batch_op.add_column(sa.Column(f"watermark_{name}", sa.Float(), nullable=True))
        for name in WATERMARK_INTS:
            batch_op.add_column(sa.Column(f"watermark_{name}", sa.Integer(), nullable=True))
    op.create_index("ix_media_items_created", "media_items", ["created_at"])
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS media_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS media_search")
    else:
        op.drop_index("ix_media_items_title_search", table_name="media_items")
        op.drop_index("ix_media_items_search", table_name="media_items")
    op.drop_index("ix_media_items_created", table_name="media_items")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        for name in reversed(("image", *WATERMARK_FLOATS, *WATERMARK_INTS)):
            batch_op.drop_column(f"watermark_{name}")
    op.drop_table("collection_members")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # the rebuild below deletes them by cascade: put them back afterwards
        op.execute("CREATE TEMPORARY TABLE kept_items AS SELECT * FROM collection_items")
    with op.batch_alter_table("collections", schema=None) as batch_op:
        if not sqlite:  # SQLite's rebuild drops the column's inline reference with it
            batch_op.drop_constraint("fk_collections_library_id_libraries", type_="foreignkey")
        batch_op.drop_column("library_id")
        batch_op.drop_column("automatic")
    if sqlite:
        op.execute("INSERT INTO collection_items SELECT * FROM kept_items")
        op.execute("DROP TABLE kept_items")
