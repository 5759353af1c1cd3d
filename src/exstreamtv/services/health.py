"""Readiness: can this server answer requests that need the database right now, and is
its start-up work done?"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from exstreamtv.errors import DatabaseUnavailable, StartingUp
from exstreamtv.services.container import Container

log = logging.getLogger(__name__)


async def database_ready(container: Container) -> None:
    """Run ``SELECT 1`` on a pooled connection.

    Raises :class:`DatabaseUnavailable` when the database cannot be reached or refuses the
    query (the driver's message is not passed on: it may name hosts or users).
    """
    try:
        async with container.sessions() as session:
            await session.execute(text("SELECT 1"))
    except (DatabaseUnavailable, DBAPIError, OSError) as err:
        log.warning("database not ready: %s", err)
        raise DatabaseUnavailable("database unreachable") from err


async def ready(container: Container) -> None:
    """:func:`database_ready`, and the start-up work done.

    Raises :class:`DatabaseUnavailable` (database) or :class:`StartingUp` naming the
    start-up steps still pending."""
    await database_ready(container)
    pending = container.warm_up.pending
    if pending:
        raise StartingUp(f"starting up: {', '.join(pending)}", retry_after=5)
