"""The top of every discovery datagram: answer it, count the result, never raise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from prometheus_client import Counter

log = logging.getLogger(__name__)


Answer = Callable[[bytes, tuple[str | int, ...]], str]


class CountedDatagramProtocol(asyncio.DatagramProtocol):
    """Calls ``answer`` for each datagram and counts the result label it returns.

    A bug in ``answer`` is counted as ``error`` and logged with its traceback once, so a
    stream of hostile packets can neither crash the listener nor flood the log.
    """

    def __init__(self, requests: Counter, answer: Answer, service: str) -> None:
        self._requests = requests
        self._answer_one = answer
        self._service = service
        self._bug_logged = False

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        """Handle one datagram. Never raises: this is the top of a request."""
        try:
            result = self._answer_one(data, addr)
        except Exception:
            result = "error"
            if not self._bug_logged:
                self._bug_logged = True
                log.exception("%s failed on a datagram (logged once)", self._service)
        self._requests.labels(result=result).inc()
