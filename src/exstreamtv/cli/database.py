"""``exstreamtv db ...`` and ``exstreamtv admin-key ...``."""

from __future__ import annotations

from pathlib import Path

from exstreamtv.config import Settings
from exstreamtv.services.backups import BackupInfo, copy_database
from exstreamtv.services.container import open_container
from exstreamtv.store.database import schema_revision


async def upgrade(settings: Settings) -> str:
    """Apply migrations (opening the container does) and return the revision reached."""
    async with open_container(settings) as container:
        return await schema_revision(container.engine) or "(none)"


async def rotate_admin_key(settings: Settings) -> str:
    async with open_container(settings) as container:
        return await container.admin_keys.rotate()


async def backup(settings: Settings, folder: Path | None, *, include_secrets: bool) -> BackupInfo:
    """Write a backup (online: the server may be running)."""
    async with open_container(settings) as container:
        return await container.backups.create(folder, include_secrets=include_secrets)


async def copy(settings: Settings, target_url: str) -> dict[str, int]:
    """Copy the configured database into ``target_url``; the verified row counts."""
    async with open_container(settings) as container:
        return await copy_database(container.engine, target_url)
