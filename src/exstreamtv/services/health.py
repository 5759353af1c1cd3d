"""Readiness: can this server answer requests that need the database right now?"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from exstreamtv.errors import DatabaseUnavailable
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
