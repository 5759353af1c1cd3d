"""The shared HTTP layer: response size cap while streaming, rate limit, no retries on
refusals, and outage bookkeeping (gauge, counter, one log line per transition)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import AsyncIterator

import httpx
import pytest

from exstreamtv.agent.troubleshooting import Issue, classify
from exstreamtv.errors import SourceResponseInvalid, SourceUnavailable
from exstreamtv.metrics import Metrics
from exstreamtv.sources.server_http import (
    INLINE_PARSE_BYTES,
    HttpLimits,
    ServerHttp,
    parse_off_loop,
)


class _Chunks(httpx.AsyncByteStream):
    """A body of unknown length (no Content-Length), sent in 1 KiB chunks."""

    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += 1024
            yield b"x" * 1024


async def test_a_body_without_a_length_is_cut_off_at_the_cap() -> None:
    body = _Chunks(10 * 1024 * 1024)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=body))
    http = ServerHttp(
        "http://s",
        label="1",
        name="S",
        headers={},
        transport=transport,
        limits=HttpLimits(max_body_bytes=64 * 1024),
    )
    with pytest.raises(SourceResponseInvalid, match=r"sent more than 0\.0625 MiB for /items"):
        await http.get("/items")
    assert body.sent <= 65 * 1024  # stopped reading right after the cap, not at the end
    await http.aclose()


async def test_requests_are_spaced_by_the_rate_limit() -> None:
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        starts.append(loop.time())
        return httpx.Response(200, content=b"{}")

    http = ServerHttp(
        "http://s",
        label="1",
        name="S",
        headers={},
        transport=httpx.MockTransport(handle),
        limits=HttpLimits(min_interval=0.05, concurrency=4),
    )
    await asyncio.gather(*(http.get(f"/{n}") for n in range(5)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 5 and min(gaps) >= 0.045
    await http.aclose()


async def test_a_refused_token_is_not_retried() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(401, text="<h1>401 Unauthorized</h1>")

    http = ServerHttp(
        "http://s",
        label="1",
        name="S",
        headers={},
        transport=httpx.MockTransport(handle),
        limits=HttpLimits(retries=3, backoff=0),
    )
    with pytest.raises(SourceUnavailable, match="refused the token"):
        await http.get("/library/sections")
    assert calls == ["/library/sections"]
    await http.aclose()


async def test_an_outage_is_logged_once_counted_and_recovered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    down = True

    def handle(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=b"ok")

    http = ServerHttp(
        "http://s",
        label="7",
        name="Attic",
        headers={},
        metrics=metrics,
        transport=httpx.MockTransport(handle),
        limits=HttpLimits(retries=2, backoff=0),
    )
    with caplog.at_level(logging.INFO, logger="exstreamtv.sources.server_http"):
        for _ in range(2):
            with pytest.raises(SourceUnavailable, match="'Attic' at http://s cannot be reached"):
                await http.get("/")
        down = False
        assert await http.get("/") == b"ok"
    messages = [r.getMessage() for r in caplog.records]
    (outage,) = [m for m in messages if "cannot be reached" in m]
    assert classify(outage) is Issue.SOURCE_FAILURE  # the troubleshooter recognises it
    assert sum("reachable again" in m for m in messages) == 1
    up = metrics.media_server_up.labels("7")._value.get()
    failures = metrics.media_server_failures.labels("7", "unreachable")._value.get()
    assert (up, failures) == (1, 6)  # 2 calls x (1 try + 2 retries)
    await http.aclose()


async def test_large_answers_are_parsed_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def parse(body: bytes, path: str) -> int:
        seen.append(threading.get_ident())
        return len(body)

    assert await parse_off_loop(parse, b"x" * 1024, "/small") == 1024
    assert await parse_off_loop(parse, b"x" * (INLINE_PARSE_BYTES + 1), "/big") > 0
    assert seen[0] == loop_thread
    assert seen[1] != loop_thread
