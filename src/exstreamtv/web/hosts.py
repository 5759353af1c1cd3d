"""Which names the server answers to: the defence against DNS rebinding.

A web page on ``evil.example`` can make its name resolve to 127.0.0.1 and then talk to a
server on this machine as if it were its own origin; the only trace is the ``Host`` header,
which still says ``evil.example``. So every request's Host (and a trusted proxy's
``X-Forwarded-Host``) must be one of:

* a loopback name or address (``localhost``, ``*.localhost``, 127.0.0.0/8, ``::1``);
* ``server.host`` and the host of ``server.base_url``;
* a name in ``server.allowed_hosts`` (``*.example.com`` allows its subdomains);
* when the server listens on every interface: any IP address literal (a page cannot
  rebind an address, only a name) and this machine's own host name (``name``,
  ``name.local``).

Anything else is refused with 421 before routing. A request is *local* only when its
peer is loopback **and** its Host is a loopback name: a rebinding page reaches the server
from a loopback peer, but never with a loopback Host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from exstreamtv.config import Settings
from exstreamtv.network import WILDCARDS


def host_name(header: str) -> str | None:
    """The host part of a ``Host`` header value, lower-case, without port, brackets or a
    final dot; ``None`` when it is not a well-formed ``host[:port]``."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        name = value[1:end]
        return name if _ip(name) is not None else None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    name = name.removesuffix(".")
    allowed = all(part and len(part) <= 63 for part in name.split("."))
    if not name or len(name) > 253 or not allowed:
        return None
    if any(not (c.isalnum() or c in "-.") or not c.isascii() for c in name):
        return None
    return name


def is_loopback_name(name: str) -> bool:
    """``localhost``, a ``*.localhost`` name (RFC 6761) or a loopback address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    ip = _ip(name)
    return ip is not None and ip.is_loopback


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """The host names of one server (see the module docstring)."""

    names: frozenset[str]
    suffixes: tuple[str, ...]
    any_address: bool

    @classmethod
    def of(cls, settings: Settings, machine_names: Iterable[str] | None = None) -> AllowedHosts:
        """The allowed names for ``settings``; ``machine_names`` defaults to this host's."""
        server = settings.server
        names = {server.host.lower().strip("[]")}
        if server.base_url:
            names.add((urlsplit(server.base_url).hostname or "").lower())
        wildcard = server.host in WILDCARDS
        if wildcard:
            for machine in machine_names if machine_names is not None else _machine_names():
                names.update({machine.lower(), f"{machine.lower()}.local"})
        exact = {n for n in server.allowed_hosts if not n.startswith("*.")}
        suffixes = tuple(n[1:] for n in server.allowed_hosts if n.startswith("*."))
        return cls(frozenset((names | exact) - {""}), suffixes, any_address=wildcard)

    def allows(self, name: str) -> bool:
        """True when ``name`` (from :func:`host_name`) is one of this server's names."""
        if is_loopback_name(name) or name in self.names:
            return True
        if self.any_address and _ip(name) is not None:
            return True
        return any(name.endswith(suffix) for suffix in self.suffixes)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _machine_names() -> list[str]:
    name = socket.gethostname()
    return [name, name.split(".", 1)[0]] if name else []
