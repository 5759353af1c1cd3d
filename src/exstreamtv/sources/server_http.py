"""The HTTP side every media-server client shares: one ``httpx.AsyncClient`` per server with
timeouts, retries with exponential backoff (idempotent GET/HEAD only), a request rate limit,
a cap on concurrent requests, a cap on response size, and reachability bookkeeping (the
``exstreamtv_media_server_up`` gauge, a failure counter and one log line per outage and per
recovery).

Error messages name the server and the path, never a query string: credentials travel in
headers, and stream URLs (which carry a token) are never put in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx

from exstreamtv.errors import SourceResponseInvalid, SourceUnavailable
from exstreamtv.metrics import Metrics
from exstreamtv.sources.pace import Pace

log = logging.getLogger(__name__)
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
INLINE_PARSE_BYTES = 256 * 1024  # larger answers are parsed in a worker thread

T = TypeVar("T")
# Query parameters: a mapping, or pairs when a key repeats (``fl[]=a&fl[]=b``).
Query = Mapping[str, str | int] | list[tuple[str, str | int | float | bool | None]]


async def parse_off_loop(parse: Callable[[bytes, str], T], body: bytes, path: str) -> T:
    """``parse(body, path)``, in a worker thread when the body is large enough to stall the
    event loop (a 64 MiB page takes seconds to parse)."""
    if len(body) <= INLINE_PARSE_BYTES:
        return parse(body, path)
    return await asyncio.to_thread(parse, body, path)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Timeouts (s), retries, backoff (s, doubled per retry), response cap (bytes), rate
    limit (minimum s between request starts) and concurrent requests of one server."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_body_bytes: int = 64 * 1024 * 1024
    min_interval: float = 0.0
    concurrency: int = 4
    probe_timeout: float = 3.0


class ServerHttp:
    """Requests to one media server, labelled ``label`` (the source id) in metrics and logs."""

    def __init__(
        self,
        base_url: str,
        *,
        label: str,
        name: str,
        headers: Mapping[str, str],
        limits: HttpLimits | None = None,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        shown: Callable[[str], str] | None = None,
        follow_redirects: bool = False,
        noun: str = "media server",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits = limits or HttpLimits()
        self._label, self._name, self._metrics = label, name, metrics
        # How a path or URL appears in messages (online sources hide credentials in theirs).
        self._shown = shown or (lambda text: text)
        self._noun = noun  # what messages call it: "media server", "online source"
        timeout = httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout)
        self._client = httpx.AsyncClient(
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=follow_redirects,
        )
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        self._pace = Pace(self.limits.min_interval)
        self._up: bool | None = None

    @property
    def name(self) -> str:
        """The source's name, as errors and logs call it."""
        return self._name

    async def get(
        self,
        path: str,
        params: Query | None = None,
        *,
        missing_ok: bool = False,
        refused_ok: bool = False,
    ) -> bytes | None:
        """The body of ``GET base+path``; ``None`` for a 404 when ``missing_ok``, and for a
        403 when ``refused_ok`` (something this token may not read, such as another user's
        playlist).

        Connection errors, timeouts, 429 and 5xx are retried with backoff; 401/403 and
        other statuses are not. Raises SourceUnavailable, or SourceResponseInvalid when the
        body exceeds ``max_body_bytes``.
        """
        delay = self.limits.backoff
        tolerated = {404} if missing_ok else set()
        tolerated |= {403} if refused_ok else set()
        for attempt in range(self.limits.retries + 1):
            async with self._slots:
                await self._pace.wait()
                outcome = await self._get_once(path, params, tolerated=frozenset(tolerated))
            if not isinstance(outcome, _Retry):
                return outcome
            if attempt == self.limits.retries:
                raise SourceUnavailable(outcome.reason) from outcome.cause
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def head(self, url: str, *, lenient: bool = False) -> httpx.Headers:
        """``HEAD url`` (absolute, without a token: the headers carry it) with the short
        probe timeout, once; returns the answer's headers. Raises SourceUnavailable unless
        it answers 2xx, or, when ``lenient``, anything but 404, 410 or 5xx (for servers
        that refuse HEAD itself)."""
        try:
            response = await self._client.head(url, timeout=self.limits.probe_timeout)
        except httpx.HTTPError as err:
            self._down(err)
            raise SourceUnavailable(self._unreachable(err)) from err
        self._reached()
        status = response.status_code
        refused = status in (404, 410) or status >= 500 if lenient else not response.is_success
        if refused:
            self._count("status")
            raise SourceUnavailable(
                f"{self._noun} {self._name!r} refused the stream (HTTP {status})"
            )
        return response.headers

    @contextlib.asynccontextmanager
    async def stream(self, url: str, headers: Mapping[str, str]) -> AsyncIterator[httpx.Response]:
        """``GET url`` (absolute, without a token: the client's headers carry it) with
        ``headers`` added, once, the response open for streaming its body. Raises
        SourceUnavailable when the server cannot be reached."""
        try:
            async with self._client.stream("GET", url, headers=dict(headers)) as response:
                self._reached()
                yield response
        except httpx.TransportError as err:
            self._down(err)
            raise SourceUnavailable(self._unreachable(err)) from err

    async def post(self, path: str) -> int:
        """``POST base+path`` once (never retried); returns the status code."""
        return (await self.post_json(path, None))[0]

    async def post_json(
        self, path: str, body: object, headers: Mapping[str, str] | None = None
    ) -> tuple[int, bytes]:
        """``POST base+path`` with ``body`` as JSON (``None``: no body) once, never retried
        (a sign-in must not be sent twice); returns the status and the body (capped like
        any answer). Raises SourceUnavailable when the server cannot be reached."""
        content = None if body is None else json.dumps(body).encode()
        extra = {} if content is None else {"Content-Type": "application/json"}
        try:
            async with self._client.stream(
                "POST", self.base_url + path, content=content, headers={**extra, **(headers or {})}
            ) as response:
                self._reached()
                return response.status_code, await self._body(response, path)
        except httpx.HTTPError as err:
            self._down(err)
            raise SourceUnavailable(self._unreachable(err)) from err

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ServerHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _get_once(
        self, path: str, params: Query | None, *, tolerated: frozenset[int]
    ) -> bytes | _Retry | None:
        """The body, ``None`` (a ``tolerated`` status), or a failure worth retrying."""
        try:
            async with self._client.stream("GET", self.base_url + path, params=params) as response:
                self._reached()
                if response.status_code in tolerated:
                    return None
                if response.status_code in _RETRY_STATUS:
                    self._count("status")
                    return _Retry(
                        f"{self._noun} {self._name!r} answered HTTP {response.status_code}"
                        f" for {self._shown(path)}"
                    )
                if response.status_code in (401, 403):
                    self._count("status")
                    raise SourceUnavailable(
                        f"{self._noun} {self._name!r} refused the token"
                        f" (HTTP {response.status_code} for {self._shown(path)})"
                    )
                if not response.is_success:
                    self._count("status")
                    raise SourceUnavailable(
                        f"{self._noun} {self._name!r} answered HTTP {response.status_code}"
                        f" for {self._shown(path)}"
                    )
                return await self._body(response, path)
        except httpx.HTTPError as err:
            self._down(err)
            return _Retry(self._unreachable(err), err)

    async def _body(self, response: httpx.Response, path: str) -> bytes:
        cap = self.limits.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            self._count("invalid")
            raise SourceResponseInvalid(self._too_big(path))
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():  # decoded: a gzip bomb counts in full
            size += len(chunk)
            if size > cap:
                self._count("invalid")
                raise SourceResponseInvalid(self._too_big(path))
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, path: str) -> str:
        limit_mib = self.limits.max_body_bytes / (1024 * 1024)
        return (
            f"{self._noun} {self._name!r} sent more than {limit_mib:.3g} MiB for"
            f" {self._shown(path)}; refused (lower the page size or raise the limit)"
        )

    def _unreachable(self, err: httpx.HTTPError) -> str:
        what = "timed out" if isinstance(err, httpx.TimeoutException) else "cannot be reached"
        where = f" at {self._shown(self.base_url)}" if self.base_url else ""
        return f"{self._noun} {self._name!r}{where} {what} ({type(err).__name__})"

    def _reached(self) -> None:
        if self._up is False:
            log.info(
                "%s %r is reachable again", self._noun, self._name, extra={"source": self._label}
            )
        self._up = True
        if self._metrics is not None:
            self._metrics.media_server_up.labels(self._label).set(1)

    def _down(self, err: httpx.HTTPError) -> None:
        self._count("timeout" if isinstance(err, httpx.TimeoutException) else "unreachable")
        if self._up is not False:
            log.warning(
                "%s; channels using it play a slate and scans fail until it is back",
                self._unreachable(err),
                extra={"source": self._label},
            )
        self._up = False
        if self._metrics is not None:
            self._metrics.media_server_up.labels(self._label).set(0)

    def _count(self, reason: str) -> None:
        if self._metrics is not None:
            self._metrics.media_server_failures.labels(self._label, reason).inc()


@dataclass(frozen=True, slots=True)
class _Retry:
    """A failure worth another try: what to say if it was the last, and its cause."""

    reason: str
    cause: Exception | None = None
