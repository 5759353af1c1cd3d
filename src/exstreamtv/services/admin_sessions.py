"""Browser sessions for the web UI: a random cookie, and a row per session on the server.

Signing in with the admin key yields a token ``<id>.<secret>`` (16 random bytes of id in
hex, 32 of secret). The database keeps only the id, an HMAC-SHA256 of the secret under a
key kept in a 0600 file in the data directory (``ui-sessions.key``, never in the database),
and the expiry the server set: issue time plus the lifetime. So:

* a copy of the database cannot mint or read a session (it lacks the key file), and a
  cookie cannot outlive the expiry the server chose, whatever it claims;
* signing out deletes the row: the revocation survives restarts;
* rotating the admin key deletes every row (:meth:`AdminKeys.rotate`): everyone signs in
  again;
* at most ``max_sessions`` are kept: a new one pushes out the oldest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.services.admin_key import AdminKeys
from exstreamtv.store.admin_sessions import AdminSessionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.key_files import read_or_create_key

KEY_FILE_NAME = "ui-sessions.key"
LIFETIME_SEC = 12 * 3600
MAX_SESSIONS = 100
_TOKEN = re.compile(r"([0-9a-f]{32})\.([A-Za-z0-9_-]{43})")


class AdminSessions:
    """Opens, checks and revokes UI session tokens (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keys: AdminKeys,
        key_file: Path,
        *,
        lifetime_sec: int = LIFETIME_SEC,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._keys = keys
        self._key_file = key_file
        self._lifetime = lifetime_sec
        self._max_sessions = max_sessions
        self._key: bytes | None = None
        self._loading = asyncio.Lock()  # one key, even when the first sign-ins race

    @property
    def lifetime_sec(self) -> int:
        return self._lifetime

    async def open(self, key: str | None) -> str | None:
        """A new session token when ``key`` is the admin key, else ``None``."""
        if not await self._keys.verify(key):
            return None
        session_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
        digest = _mac(await self._signing_key(), session_id, secret)
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            repo = AdminSessionRepository(session)
            await repo.prune(now, self._max_sessions - 1)
            await repo.add(session_id, digest, now, now + timedelta(seconds=self._lifetime))
        return f"{session_id}.{secret}"

    async def check(self, token: str | None) -> bool:
        """True when ``token`` is a session that was opened, not revoked and not expired.
        Malformed tokens are simply ``False``."""
        return await self._valid(token) is not None

    async def revoke(self, token: str | None) -> None:
        """End the session of a valid ``token`` (others are ignored)."""
        session_id = await self._valid(token)
        if session_id is None:
            return
        async with transaction(self._sessions) as session:
            await AdminSessionRepository(session).delete(session_id)

    async def _valid(self, token: str | None) -> str | None:
        """The session id of a valid token, else ``None``."""
        match = _TOKEN.fullmatch(token or "")
        if match is None:
            return None
        session_id, secret = match.groups()
        async with self._sessions() as session:
            stored = await AdminSessionRepository(session).get(session_id)
        if stored is None or stored.expires_at <= self._clock.now():
            return None
        expected = _mac(await self._signing_key(), session_id, secret)
        return session_id if hmac.compare_digest(stored.digest, expected) else None

    async def _signing_key(self) -> bytes:
        async with self._loading:
            if self._key is None:
                self._key = await asyncio.to_thread(
                    read_or_create_key, self._key_file, lambda: secrets.token_hex(32).encode()
                )
            return self._key


def _mac(key: bytes, session_id: str, secret: str) -> str:
    return hmac.new(key, f"{session_id}.{secret}".encode(), hashlib.sha256).hexdigest()
