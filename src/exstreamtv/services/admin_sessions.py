"""Browser sessions for the web UI: a signed cookie instead of the admin key itself.

Logging in with the admin key yields a token ``<expires>.<nonce>.<mac>``: ``expires`` is
epoch seconds (UTC), ``nonce`` 16 random bytes (hex), and ``mac`` an HMAC-SHA256 over both
and the stored hash of the admin key, under a random secret kept in the database. Nothing
is stored per session, so:

* rotating the admin key ends every session at once (the stored hash changes);
* a token cannot be forged without the secret, nor extended (``expires`` is signed);
* logging out revokes the token in a bounded in-memory set until it expires (a restart
  forgets revocations, but the browser has dropped the cookie by then).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.services.admin_key import STATE_KEY, AdminKeys
from exstreamtv.store.app_state import AppStateRepository
from exstreamtv.store.database import transaction

SIGNING_STATE = "ui_session_secret"  # the app_state row holding the signing secret
LIFETIME_SEC = 12 * 3600
MAX_REVOKED = 10_000


class AdminSessions:
    """Opens, checks and revokes UI session tokens (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keys: AdminKeys,
        *,
        lifetime_sec: int = LIFETIME_SEC,
        max_revoked: int = MAX_REVOKED,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._keys = keys
        self._lifetime = lifetime_sec
        self._max_revoked = max_revoked
        self._revoked: OrderedDict[str, int] = OrderedDict()  # nonce -> expires, bounded
        self._secret: bytes | None = None
        self._loading = asyncio.Lock()  # one secret, even when the first logins race

    @property
    def lifetime_sec(self) -> int:
        return self._lifetime

    async def open(self, key: str | None) -> str | None:
        """A new session token when ``key`` is the admin key, else ``None``."""
        if not await self._keys.verify(key):
            return None
        secret, digest = await self._state()
        if digest is None:
            return None
        expires = int(self._clock.now().timestamp()) + self._lifetime
        nonce = secrets.token_hex(16)
        return f"{expires}.{nonce}.{_mac(secret, expires, nonce, digest)}"

    async def check(self, token: str | None) -> bool:
        """True when ``token`` was issued for the current admin key, has not expired and
        was not revoked. Malformed tokens are simply ``False``."""
        return await self._valid(token) is not None

    async def revoke(self, token: str | None) -> None:
        """Make a valid ``token`` unusable until it expires (others are ignored)."""
        valid = await self._valid(token)
        if valid is None:
            return
        expires, nonce = valid
        now = self._clock.now().timestamp()
        for old, until in list(self._revoked.items()):
            if until <= now:
                del self._revoked[old]
        self._revoked[nonce] = expires
        while len(self._revoked) > self._max_revoked:
            self._revoked.popitem(last=False)

    async def _valid(self, token: str | None) -> tuple[int, str] | None:
        """``(expires, nonce)`` of a valid token, else ``None``."""
        parsed = _parse(token)
        if parsed is None:
            return None
        expires, nonce, mac = parsed
        if expires <= self._clock.now().timestamp() or nonce in self._revoked:
            return None
        secret, digest = await self._state()
        if digest is None or not hmac.compare_digest(mac, _mac(secret, expires, nonce, digest)):
            return None
        return expires, nonce

    async def _state(self) -> tuple[bytes, str | None]:
        """The signing secret (created on first use) and the stored admin key hash."""
        async with self._loading:
            secret = self._secret
            if secret is None:
                async with transaction(self._sessions) as session:
                    state = AppStateRepository(session)
                    stored = await state.get(SIGNING_STATE)
                    if stored is None:
                        stored = secrets.token_hex(32)
                        await state.set(SIGNING_STATE, stored)
                secret = self._secret = bytes.fromhex(stored)
        async with self._sessions() as session:
            digest = await AppStateRepository(session).get(STATE_KEY)
        return secret, digest


def _mac(secret: bytes, expires: int, nonce: str, digest: str) -> str:
    message = f"{expires}.{nonce}.{digest}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _parse(token: str | None) -> tuple[int, str, str] | None:
    if not token or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        return None
    return int(parts[0]), parts[1], parts[2]
