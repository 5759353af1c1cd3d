"""Alembic environment: always run with a connection handed in by ``upgrade_schema``."""

from __future__ import annotations

from alembic import context

from exstreamtv.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `exstreamtv db upgrade`, not the alembic CLI")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
