"""Media-server credentials at rest: Fernet-encrypted with a key kept in the data directory.

The key file (``media-sources.key``) is created on first use with mode 0600, atomically
(see :mod:`exstreamtv.store.key_files`), so two processes starting together end up with one
key. Losing or replacing it
makes stored tokens unreadable: the error says so, and setting the token again fixes it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from exstreamtv.errors import DataDirError, SourceUnavailable
from exstreamtv.store.key_files import read_or_create_key

if TYPE_CHECKING:  # cryptography loads with the first token sealed or opened
    from cryptography.fernet import Fernet

KEY_FILE_NAME = "media-sources.key"


class CredentialCipher:
    """Seals and opens media-server tokens with the install's key (loaded once, lazily)."""

    def __init__(self, key_file: Path) -> None:
        self._key_file = key_file
        self._fernet: Fernet | None = None
        self._lock = asyncio.Lock()

    async def seal(self, secret: SecretStr) -> str:
        """The encrypted form of ``secret`` (URL-safe text for the database)."""
        fernet = await self._ready()
        return fernet.encrypt(secret.get_secret_value().encode()).decode("ascii")

    async def open(self, sealed: str) -> SecretStr:
        """The token behind ``sealed``; raises SourceUnavailable when the key cannot read it."""
        fernet = await self._ready()
        from cryptography.fernet import InvalidToken  # noqa: PLC0415 - loaded by _ready

        try:
            return SecretStr(fernet.decrypt(sealed.encode("ascii")).decode())
        except (InvalidToken, UnicodeError) as err:
            raise SourceUnavailable(
                f"the stored media-server credential cannot be decrypted with {self._key_file}"
                " (was the key file replaced?); set the token again"
            ) from err

    async def _ready(self) -> Fernet:
        async with self._lock:
            if self._fernet is None:
                self._fernet = await asyncio.to_thread(_fernet, self._key_file)
            return self._fernet


def _fernet(key_file: Path) -> Fernet:
    from cryptography.fernet import Fernet  # noqa: PLC0415 - see TYPE_CHECKING

    return Fernet(_load_or_create_key(key_file))


def _load_or_create_key(path: Path) -> bytes:
    from cryptography.fernet import Fernet  # noqa: PLC0415 - see TYPE_CHECKING

    """Read the key, or create it (mode 0600) when there is none. Raises DataDirError."""
    key = read_or_create_key(path, Fernet.generate_key)
    try:
        Fernet(key)
    except ValueError as err:
        raise DataDirError(f"the key file {path} does not hold a valid key") from err
    return key
