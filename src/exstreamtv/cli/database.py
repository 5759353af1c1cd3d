"""``exstreamtv db ...`` and ``exstreamtv admin-key ...``."""

from __future__ import annotations

from exstreamtv.config import Settings
from exstreamtv.services.container import open_container
from exstreamtv.store.database import schema_revision


async def upgrade(settings: Settings) -> str:
    """Apply migrations (opening the container does) and return the revision reached."""
    async with open_container(settings) as container:
        return await schema_revision(container.engine) or "(none)"


async def rotate_admin_key(settings: Settings) -> str:
    async with open_container(settings) as container:
        return await container.admin_keys.rotate()
