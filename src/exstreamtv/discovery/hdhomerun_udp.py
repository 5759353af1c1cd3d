"""The HDHomeRun UDP discovery listener (SiliconDust protocol, port 65001 by default).

libhdhomerun clients (``hdhomerun_config``, Plex, Channels DVR) broadcast or unicast a
discover request; we answer unicast to the sender with our device type, id, tuner count,
base URL, lineup URL and device auth. The codec is :mod:`exstreamtv.formats.hdhomerun`.

Every datagram ends in exactly one ``exstreamtv_hdhomerun_discovery_requests_total`` result:
``answered``, ``ignored`` (not a discover request for us), ``malformed``, ``rate_limited``
(the sender exceeded its reply budget, so we cannot be used as a reflector) or ``error``
(a bug: logged with its traceback once per listener, then only counted).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from exstreamtv.clock import SystemClock
from exstreamtv.discovery.datagrams import CountedDatagramProtocol
from exstreamtv.discovery.rate_limit import SourceRateLimiter
from exstreamtv.formats import hdhomerun
from exstreamtv.formats.hdhomerun import MalformedPacket, decode_packet, discover_reply

if TYPE_CHECKING:
    from exstreamtv.metrics import Metrics

log = logging.getLogger(__name__)


class HdhomerunDiscovery(CountedDatagramProtocol):
    """Answers HDHomeRun discover requests on one UDP socket.

    Settings are injected (the container reads ``HdhomerunConfig``): ``device_id`` must be a
    valid DeviceID and ``tuner_count`` 1-255 (else ValueError); ``lineup_url`` defaults to
    ``base_url + "/lineup.json"``; ``limiter`` defaults to 20 replies/s per source IP on the
    system clock. With ``enabled=False`` (``discovery_enabled``) :meth:`start` binds nothing.
    """

    def __init__(
        self,
        *,
        device_id: str,
        tuner_count: int,
        base_url: str,
        device_auth: str,
        metrics: Metrics,
        lineup_url: str | None = None,
        enabled: bool = True,
        limiter: SourceRateLimiter | None = None,
    ) -> None:
        # Fail at construction, not on the first datagram, when the settings are unusable.
        if not hdhomerun.device_id_valid(device_id) or not 1 <= tuner_count <= 0xFF:
            raise ValueError(f"unusable discovery settings: {device_id=!r} {tuner_count=}")
        self._device_id = device_id
        self._tuner_count = tuner_count
        self._base_url = base_url.rstrip("/")
        self._lineup_url = lineup_url or hdhomerun.lineup_url(self._base_url)
        self._device_auth = device_auth
        super().__init__(metrics.hdhomerun_discovery_requests, self._answer, "HDHomeRun discovery")
        self._enabled = enabled
        self._limiter = limiter if limiter is not None else SourceRateLimiter(SystemClock())
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound ``(host, port)`` (useful with port 0), or None when not listening."""
        if self._transport is None:
            return None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def start(self, host: str, port: int) -> None:
        """Bind ``host:port`` and start answering; a no-op when disabled or already started.

        Raises OSError when the address cannot be bound (port in use, no such address).
        """
        if not self._enabled:
            log.info("HDHomeRun UDP discovery is disabled")
            return
        if self._transport is not None:
            return
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        log.info("HDHomeRun UDP discovery listening", extra={"host": host, "port": port})

    async def stop(self) -> None:
        """Close the socket; idempotent."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector datagram transport does not subclass DatagramTransport at runtime.
        self._transport = cast("asyncio.DatagramTransport", transport)

    def _answer(self, data: bytes, addr: tuple[str | int, ...]) -> str:
        try:
            request = decode_packet(data)
        except MalformedPacket as err:
            log.debug("ignoring malformed discovery datagram", extra={"reason": err.reason})
            return "malformed"
        reply = discover_reply(
            request,
            device_id=self._device_id,
            tuner_count=self._tuner_count,
            base_url=self._base_url,
            lineup_url=self._lineup_url,
            device_auth=self._device_auth,
        )
        if reply is None:
            return "ignored"
        if not self._limiter.allow(str(addr[0])):
            return "rate_limited"
        if self._transport is None:
            return "ignored"  # a datagram delivered while stopping
        self._transport.sendto(reply, addr)
        return "answered"
