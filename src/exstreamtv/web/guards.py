"""The checks every request passes before routing, as ASGI middleware (outermost first):

1. :class:`HostGuard`: the ``Host`` (and a trusted proxy's ``X-Forwarded-Host``) must be
   one of the server's names (:mod:`exstreamtv.web.hosts`), else 421.
2. :class:`AdminGate`: an ``/api`` request must be admitted (local, admin key or session;
   :func:`exstreamtv.web.deps.admit`) before a byte of its body is read: 401, 403 or 429
   otherwise. A server that refuses early never buffers a stranger's upload.
3. :class:`BodyLimit`: the body may be at most ``server.max_request_mib`` (2 MiB for logo
   uploads, plus their envelope). A ``Content-Length`` over the cap is refused at once; a
   body without one is counted while it streams in and refused the moment it passes the
   cap. Either way 413.

Every refusal is a problem+json response from :class:`~exstreamtv.web.problems.Problems`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exstreamtv.errors import ExStreamTVError, HostRefused, RequestTooLarge
from exstreamtv.services.container import Container
from exstreamtv.services.logo_images import MAX_UPLOAD_BYTES
from exstreamtv.web.deps import admit
from exstreamtv.web.hosts import AllowedHosts, host_name
from exstreamtv.web.problems import Problems
from exstreamtv.web.proxies import trusted

MIB = 1024 * 1024
LOGO_UPLOAD_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # the image plus its multipart envelope
# Routes with their own, smaller cap (path prefix -> bytes).
SMALLER_CAPS = (("/api/logos", LOGO_UPLOAD_BYTES),)


class HostGuard:
    """421 for a request whose Host is not one of this server's names."""

    def __init__(self, app: ASGIApp, container: Container, problems: Problems) -> None:
        self._app, self._container, self._problems = app, container, problems
        self._hosts = AllowedHosts.of(container.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        problem = self._refusal(request)
        if problem is None:
            await self._app(scope, receive, send)
            return
        response = await self._problems.app_error(request, problem)
        await response(scope, receive, send)

    def _refusal(self, request: Request) -> HostRefused | None:
        given = [request.headers.get("host")]
        peer = request.client.host if request.client else None
        forwarded = request.headers.get("x-forwarded-host")
        if forwarded is not None and trusted(self._container.settings, peer):
            given.append(forwarded.split(",")[0])
        for header in given:
            if header is None:
                return HostRefused("a Host header is required")
            name = host_name(header)
            if name is None or not self._hosts.allows(name):
                return HostRefused(
                    "this server does not answer to that host name; add it to"
                    " server.allowed_hosts if it is really yours"
                )
        return None


class AdminGate:
    """Admits ``/api`` requests before their body is read (see the module docstring)."""

    def __init__(self, app: ASGIApp, container: Container, problems: Problems) -> None:
        self._app, self._container, self._problems = app, container, problems

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != "/api" and not path.startswith("/api/"):
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        try:
            await admit(request, self._container)
        except ExStreamTVError as err:
            response = await self._problems.app_error(request, err)
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


class BodyLimit:
    """413 for a body over the cap, decided before or while it streams in."""

    def __init__(self, app: ASGIApp, container: Container, problems: Problems) -> None:
        self._app, self._problems = app, problems
        self._cap = int(container.settings.server.max_request_mib * MIB)

    def cap_for(self, path: str) -> int:
        for prefix, cap in SMALLER_CAPS:
            if path == prefix or path.startswith(prefix + "/"):
                return min(cap, self._cap)
        return self._cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        cap = self.cap_for(scope.get("path", ""))
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(request, cap, receive, send)
            return
        seen, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True  # the app sees a client that went away; we answer 413
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the app says about the cut body, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, guarded)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._refuse(request, cap, receive, send)

    async def _refuse(self, request: Request, cap: int, receive: Receive, send: Send) -> None:
        limit = f"{cap / MIB:.3g} MiB"
        problem = RequestTooLarge(f"the request body is larger than {limit}")
        response = await self._problems.app_error(request, problem)
        await response(request.scope, receive, send)
