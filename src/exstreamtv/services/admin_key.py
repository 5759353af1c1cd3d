"""The admin API key: generated once, shown once, stored only as a hash.

The key is 32 random bytes (URL-safe base64), so a single SHA-256 is enough to store it:
there is nothing to brute-force that a slow hash would protect. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.store.admin_sessions import AdminSessionRepository
from exstreamtv.store.app_state import AppStateRepository
from exstreamtv.store.database import transaction

STATE_KEY = "admin_api_key_sha256"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class AdminKeys:
    """Creates, rotates and checks the admin API key.

    ``verify`` reads the stored hash on every call (one primary-key lookup), so a key
    rotated from the command line takes effect in a running server at once.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def ensure(self) -> str | None:
        """Create the key on first run. Returns the new key (to print once), else ``None``."""
        async with transaction(self._sessions) as session:
            state = AppStateRepository(session)
            if await state.get(STATE_KEY) is not None:
                return None
            key = secrets.token_urlsafe(32)
            await state.set(STATE_KEY, _digest(key))
            return key

    async def rotate(self) -> str:
        """Replace the key; the old one stops working at once and every web UI session
        ends with it (in the same transaction). Returns the new key."""
        key = secrets.token_urlsafe(32)
        async with transaction(self._sessions) as session:
            await AppStateRepository(session).set(STATE_KEY, _digest(key))
            await AdminSessionRepository(session).delete_all()
        return key

    async def verify(self, presented: str | None) -> bool:
        """True when ``presented`` is the admin key (constant-time comparison)."""
        if not presented:
            return False
        async with self._sessions() as session:
            stored = await AppStateRepository(session).get(STATE_KEY)
        return stored is not None and hmac.compare_digest(_digest(presented), stored)
