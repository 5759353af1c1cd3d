"""SSDP responder for the emulated tuner (UPnP Device Architecture 1.x, UDP 1900).

One root device, ``MediaServer:1``, described at ``base_url + "/device.xml"``, with the UDN
:func:`exstreamtv.formats.hdhomerun.device_udn` (NTs: ``upnp:rootdevice``, UDN, device type).

- ``M-SEARCH`` for ``ssdp:all``, ``upnp:rootdevice``, ``uuid:<udn>`` or ``MediaServer:1``
  gets unicast ``HTTP/1.1 200 OK`` replies (one per matching type) after the MX delay.
- ``NOTIFY ssdp:alive`` goes to ``notify_target`` at start and every ``notify_interval``
  seconds; ``NOTIFY ssdp:byebye`` goes there on :meth:`SsdpResponder.stop`.

Every datagram ends in one ``exstreamtv_ssdp_requests_total`` result: ``answered``,
``ignored`` (other devices' NOTIFYs and replies, searches for something else),
``malformed``, ``rate_limited`` or ``error`` (a bug, logged once). Replies are never built
from the requester's text, so nothing a client sends is echoed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import platform
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from exstreamtv import __version__
from exstreamtv.clock import SystemClock
from exstreamtv.discovery.datagrams import CountedDatagramProtocol
from exstreamtv.discovery.rate_limit import SourceRateLimiter
from exstreamtv.formats.hdhomerun import MEDIA_SERVER_TYPE, device_id_valid, device_udn

if TYPE_CHECKING:
    from exstreamtv.metrics import Metrics

log = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
MAX_DATAGRAM_BYTES = 4096  # real M-SEARCHes are ~150 bytes
MAX_RESPONSE_DELAY = 1.0  # seconds; UDA lets MX be up to 5, we never wait more than this
MAX_PENDING_REPLIES = 256  # delayed reply batches waiting at once, across all requesters
_LINE_BREAK = re.compile(r"\r?\n")
_SERVER = f"{platform.system() or 'Unknown'}/1 UPnP/1.0 EXStreamTV/{__version__}"


class MalformedSearch(ValueError):
    """A datagram that claims to be SSDP but cannot be understood."""


@dataclass(frozen=True, slots=True)
class Search:
    """An ``M-SEARCH``: its search target and its MX in seconds (None when absent)."""

    st: str
    mx: int | None


def parse_search(data: bytes) -> Search | None:
    """Parse one datagram; None for SSDP that is not a search (``NOTIFY``, responses).

    Raises :class:`MalformedSearch` for non-UTF-8 or oversize data, an unknown start line, a
    header line without a colon, a missing ``MAN: "ssdp:discover"`` or ``ST``, or a bad MX.
    """
    if len(data) > MAX_DATAGRAM_BYTES:
        raise MalformedSearch(f"{len(data)} bytes exceeds {MAX_DATAGRAM_BYTES}")
    try:
        lines = _LINE_BREAK.split(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise MalformedSearch("not UTF-8") from err
    start = lines[0].strip()
    if start.startswith(("NOTIFY ", "HTTP/1.")):
        return None
    if start != "M-SEARCH * HTTP/1.1":
        raise MalformedSearch("unknown start line")
    headers: dict[str, str] = {}
    for line in filter(None, lines[1:]):
        name, colon, value = line.partition(":")
        if not colon:
            raise MalformedSearch("header line without a colon")
        headers[name.strip().lower()] = value.strip()
    if headers.get("man", "").strip('"') != "ssdp:discover" or not headers.get("st"):
        raise MalformedSearch('MAN: "ssdp:discover" and ST are required')
    mx = headers.get("mx")
    if mx is not None and not (mx.isascii() and mx.isdigit()):
        raise MalformedSearch("MX is not a whole number of seconds")
    return Search(st=headers["st"], mx=int(mx) if mx is not None else None)


class SsdpResponder(CountedDatagramProtocol):
    """Answers SSDP searches and advertises the tuner's ``device.xml``.

    ``join_group`` (production) joins ``SSDP_GROUP`` on ``multicast_interface`` with
    SO_REUSEADDR so other UPnP stacks on the host can share port 1900; tests pass
    ``join_group=False`` for a plain unicast socket and a loopback ``notify_target``.
    ``response_delay(mx)`` gives the reply delay in seconds, clamped to
    ``[0, MAX_RESPONSE_DELAY]``; the default waits a fixed, DeviceID-derived fraction of
    ``min(MX, 1 s)`` so several emulated tuners do not answer in lockstep. ``limiter``
    defaults to 20 searches/s per source IP (replies are larger than requests). With
    ``enabled=False`` (``ssdp_enabled``) :meth:`start` binds and sends nothing.
    """

    def __init__(
        self,
        *,
        device_id: str,
        base_url: str,
        metrics: Metrics,
        enabled: bool = True,
        notify_target: tuple[str, int] = (SSDP_GROUP, SSDP_PORT),
        notify_interval: float = 600.0,
        max_age: int = 1800,
        join_group: bool = True,
        multicast_interface: str = "0.0.0.0",  # noqa: S104 - every interface, by design
        response_delay: Callable[[int], float] | None = None,
        limiter: SourceRateLimiter | None = None,
    ) -> None:
        if not device_id_valid(device_id) or notify_interval <= 0 or max_age <= 0:
            raise ValueError(f"unusable SSDP settings: {device_id=!r} {notify_interval=}")
        self._udn = device_udn(device_id)
        self._location = f"{base_url.rstrip('/')}/device.xml"
        super().__init__(metrics.ssdp_requests, self._answer, "SSDP")
        self._enabled = enabled
        self._notify_target = notify_target
        self._notify_interval = notify_interval
        self._max_age = max_age
        self._join_group = join_group
        self._interface = multicast_interface
        fraction = int(device_id, 16) % 997 / 997
        self._delay = response_delay or (lambda mx: fraction * min(float(mx), 1.0))
        self._limiter = limiter if limiter is not None else SourceRateLimiter(SystemClock())
        self._transport: asyncio.DatagramTransport | None = None
        self._advertiser: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._batch_ids = itertools.count()

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound ``(host, port)``, or None when not listening."""
        if self._transport is None:
            return None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def start(self, host: str = "0.0.0.0", port: int = SSDP_PORT) -> None:  # noqa: S104
        """Bind, then advertise at once and every ``notify_interval`` s; idempotent.

        Raises OSError when the socket cannot be bound or the group cannot be joined.
        """
        if not self._enabled:
            log.info("SSDP is disabled")
            return
        if self._transport is not None:
            return
        sock = self._open_socket(host, port)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)
        self._advertiser = asyncio.create_task(self._advertise(), name="ssdp-alive")
        log.info("SSDP responder listening", extra={"host": host, "port": port})

    async def stop(self) -> None:
        """Stop advertising, drop delayed replies, send ``ssdp:byebye``, close; idempotent."""
        advertiser, self._advertiser = self._advertiser, None
        if advertiser is not None:
            advertiser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await advertiser
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        transport, self._transport = self._transport, None
        if transport is not None:
            for nt, usn in self._types():
                transport.sendto(self._notify(nt, usn, "ssdp:byebye"), self._notify_target)
            transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's selector datagram transport does not subclass DatagramTransport at runtime.
        self._transport = cast("asyncio.DatagramTransport", transport)

    def error_received(self, exc: Exception) -> None:  # ICMP errors for unconnected UDP
        log.debug("SSDP socket error", extra={"error": str(exc)})

    def _answer(self, data: bytes, addr: tuple[str | int, ...]) -> str:
        try:
            search = parse_search(data)
        except MalformedSearch as err:
            log.debug("ignoring malformed SSDP datagram", extra={"reason": str(err)})
            return "malformed"
        if search is None:
            return "ignored"
        replies = [self._response(st, usn) for st, usn in self._matching(search.st)]
        if not replies or self._transport is None:
            return "ignored"
        if len(self._pending) >= MAX_PENDING_REPLIES or not self._limiter.allow(str(addr[0])):
            return "rate_limited"
        delay = 0.0 if search.mx is None else self._delay(search.mx)
        delay = min(max(delay, 0.0), MAX_RESPONSE_DELAY)
        if delay == 0.0:
            self._send(replies, addr)
        else:
            batch = next(self._batch_ids)
            loop = asyncio.get_running_loop()
            self._pending[batch] = loop.call_later(delay, self._send_later, batch, replies, addr)
        return "answered"

    def _send_later(self, batch: int, replies: list[bytes], addr: tuple[str | int, ...]) -> None:
        self._pending.pop(batch, None)
        self._send(replies, addr)

    def _send(self, messages: list[bytes], addr: tuple[str | int, ...]) -> None:
        if self._transport is not None:
            for message in messages:
                self._transport.sendto(message, addr)

    def _types(self) -> list[tuple[str, str]]:
        """Our (NT, USN) pairs: root device, UDN, device type (UDA 1.1 section 1.1.2)."""
        return [
            ("upnp:rootdevice", f"{self._udn}::upnp:rootdevice"),
            (self._udn, self._udn),
            (MEDIA_SERVER_TYPE, f"{self._udn}::{MEDIA_SERVER_TYPE}"),
        ]

    def _matching(self, st: str) -> list[tuple[str, str]]:
        if st == "ssdp:all":
            return self._types()
        # UUIDs compare case-insensitively (RFC 4122); the other tokens may as well.
        return [(nt, usn) for nt, usn in self._types() if nt.lower() == st.lower()]

    def _response(self, st: str, usn: str) -> bytes:
        return _message(
            "HTTP/1.1 200 OK",
            [
                ("CACHE-CONTROL", f"max-age={self._max_age}"),
                ("EXT", ""),
                ("LOCATION", self._location),
                ("SERVER", _SERVER),
                ("ST", st),
                ("USN", usn),
            ],
        )

    def _notify(self, nt: str, usn: str, nts: str) -> bytes:
        host, port = self._notify_target
        headers = [("HOST", f"{host}:{port}"), ("NT", nt), ("NTS", nts), ("USN", usn)]
        if nts == "ssdp:alive":
            headers += [
                ("CACHE-CONTROL", f"max-age={self._max_age}"),
                ("LOCATION", self._location),
                ("SERVER", _SERVER),
            ]
        return _message("NOTIFY * HTTP/1.1", headers)

    async def _advertise(self) -> None:
        while self._transport is not None:
            try:
                for nt, usn in self._types():
                    alive = self._notify(nt, usn, "ssdp:alive")
                    self._transport.sendto(alive, self._notify_target)
            except Exception:  # top of one round: a failed round must not end advertising
                log.exception("SSDP alive round failed")
            await asyncio.sleep(self._notify_interval)

    def _open_socket(self, host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            if self._join_group:
                # Port 1900 is shared with other UPnP stacks on the host (Plex, minidlna).
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            if self._join_group:
                membership = socket.inet_aton(SSDP_GROUP) + socket.inet_aton(self._interface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                # UDA: advertisements should not travel beyond a couple of routers.
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock


def _message(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start, *(f"{name}: {value}".rstrip() for name, value in headers), "", ""]
    return "\r\n".join(lines).encode()
