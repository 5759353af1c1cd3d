"""Failed credentials per client address, and the exponential back-off that follows.

Every wrong admin key, failed sign-in and wrong access token counts against the address it
came from (an IPv6 address counts for its /64: one host usually holds a whole /64). The
first ``free`` failures cost nothing; each one after that locks the address out for twice
as long as the last (1 s, 2 s, 4 s ... up to ``max_sec``). While locked out, every request
that presents credentials from that address is refused with 429 and ``Retry-After``, the
right key included, so guessing cannot go faster than the back-off. A success, or an hour
without failures, forgets the address. Failures are logged (the address and the kind,
never what was presented) and counted in ``exstreamtv_auth_failures_total``.

The table is bounded (least recently failed addresses are forgotten first).
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass

from exstreamtv.clock import Clock
from exstreamtv.errors import TooManyAttempts
from exstreamtv.metrics import Metrics

log = logging.getLogger(__name__)
FREE_FAILURES = 5
BASE_BACKOFF_SEC = 1.0
MAX_BACKOFF_SEC = 900.0
FORGET_AFTER_SEC = 3600.0
MAX_ADDRESSES = 10_000


@dataclass(slots=True)
class _Record:
    failures: int
    last_failure: float
    locked_until: float


class SignInAttempts:
    """Counts failures and refuses addresses that are backing off (see the module doc)."""

    def __init__(
        self,
        clock: Clock,
        metrics: Metrics,
        *,
        free: int = FREE_FAILURES,
        base_sec: float = BASE_BACKOFF_SEC,
        max_sec: float = MAX_BACKOFF_SEC,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self._clock, self._metrics = clock, metrics
        self._free, self._base, self._max = free, base_sec, max_sec
        self._max_addresses = max_addresses
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def check(self, address: str, kind: str) -> None:
        """Raise :class:`TooManyAttempts` while ``address`` is backing off."""
        record = self._records.get(_group(address))
        if record is None:
            return
        wait = record.locked_until - self._clock.monotonic()
        if wait > 0:
            self._metrics.auth_throttled.labels(kind).inc()
            raise TooManyAttempts(
                f"too many failed attempts from this address; try again in {math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)),
            )

    def failed(self, address: str, kind: str) -> None:
        """Count a wrong credential of ``kind`` (admin_key, sign_in, access_token)."""
        now = self._clock.monotonic()
        key = _group(address)
        record = self._records.pop(key, None)
        if record is None or now - record.last_failure > FORGET_AFTER_SEC:
            record = _Record(0, now, now)
        record.failures += 1
        record.last_failure = now
        over = record.failures - self._free
        if over > 0:
            record.locked_until = now + min(self._max, self._base * 2 ** min(over - 1, 40))
        self._records[key] = record
        while len(self._records) > self._max_addresses:
            self._records.popitem(last=False)
        self._metrics.auth_failures.labels(kind).inc()
        backoff = max(0.0, record.locked_until - now)
        log.warning(
            "wrong %s from %s (%d in a row)%s",
            kind.replace("_", " "),
            address,
            record.failures,
            f"; refusing it for {backoff:.0f} s" if backoff else "",
            extra={"client": address, "kind": kind},
        )

    def succeeded(self, address: str) -> None:
        """Forget ``address``'s failures (it presented the right credential)."""
        self._records.pop(_group(address), None)


def _group(address: str) -> str:
    """The address, or its /64 for IPv6 (IPv4-mapped addresses count as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)
