"""Starting the network announcements (HDHomeRun UDP discovery, SSDP) beside the server.

They follow where the server listens: a loopback-only server answers UDP discovery on
127.0.0.1 only (so ``hdhomerun_config discover 127.0.0.1`` works) and sends no SSDP
multicast, since nothing on the LAN could reach it anyway. A server on the LAN answers on
``hdhomerun.discovery_host`` and announces itself by SSDP. A busy port is logged, never fatal.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable

from exstreamtv.discovery.hdhomerun_udp import HdhomerunDiscovery
from exstreamtv.discovery.ssdp import SsdpResponder
from exstreamtv.network import listen_url
from exstreamtv.services.container import Container

log = logging.getLogger(__name__)


def advertised_base_url(container: Container) -> str:
    """The URL to announce: ``server.base_url``, else this machine's address and port."""
    return container.settings.server.base_url or listen_url(container.settings)


@contextlib.asynccontextmanager
async def announcements(container: Container) -> AsyncIterator[None]:
    """Run UDP discovery and SSDP (as configured) for the life of the block."""
    settings = container.settings.hdhomerun
    base = advertised_base_url(container)
    device_id = await container.device.ensure()
    discovery = HdhomerunDiscovery(
        device_id=device_id, tuner_count=settings.tuner_count, base_url=base,
        device_auth=settings.device_auth, metrics=container.metrics,
        enabled=settings.discovery_enabled,
    )  # fmt: skip
    ssdp = SsdpResponder(
        device_id=device_id, base_url=base, metrics=container.metrics,
        enabled=settings.ssdp_enabled and not container.settings.is_loopback_only,
    )  # fmt: skip
    host = "127.0.0.1" if container.settings.is_loopback_only else settings.discovery_host
    await _start("HDHomeRun discovery", discovery.start(host, settings.discovery_port))
    await _start("SSDP", ssdp.start())
    try:
        yield
    finally:
        await ssdp.stop()
        await discovery.stop()


async def _start(name: str, starting: Awaitable[None]) -> None:
    try:
        await starting
    except OSError as err:
        log.warning("%s not started: %s", name, err.strerror or err)
