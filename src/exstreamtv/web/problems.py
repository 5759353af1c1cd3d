"""THE one error mapper: every error response is RFC 9457 ``application/problem+json``.

Body: ``{"type": "urn:exstreamtv:problem:<slug>", "title", "status", "detail", "instance"}``
where ``detail`` is the error's message and ``instance`` the request path. Request validation
problems add ``errors: [{"loc": "body.name", "message": ...}]``; input values are never
echoed, as they may hold secrets. Every problem is counted in
``exstreamtv_http_errors_total{status, type}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exstreamtv.errors import (
    Conflict,
    DatabaseUnavailable,
    ExStreamTVError,
    Forbidden,
    Gone,
    HostRefused,
    InvalidInput,
    LimitReached,
    NotFound,
    RequestTooLarge,
    SourceUnavailable,
    TooManyAttempts,
    Unauthorized,
    XMLTVValidationError,
)
from exstreamtv.metrics import Metrics
from exstreamtv.playback.tuners import ALL_TUNERS_IN_USE, TunersBusy

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Exception)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:exstreamtv:problem:"
SOURCE_RETRY_AFTER_SEC = 30
DATABASE_RETRY_AFTER_SEC = 5
INTERNAL_DETAIL = "internal error; see the server log"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# First match wins, so subclasses come before their bases.
_ERROR_STATUS: tuple[tuple[type[ExStreamTVError], int, str], ...] = (
    (InvalidInput, 422, "invalid-input"),
    (Gone, 410, "gone"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (HostRefused, 421, "misdirected-request"),
    (RequestTooLarge, 413, "content-too-large"),
    (TooManyAttempts, 429, "too-many-attempts"),
    (TunersBusy, 503, "all-tuners-in-use"),
    (LimitReached, 503, "limit-reached"),
    (XMLTVValidationError, 503, "guide-invalid"),
    (SourceUnavailable, 503, "source-unavailable"),
    (DatabaseUnavailable, 503, "database-unavailable"),
)


class Problems:
    """Builds problem responses and counts them."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def response(
        self,
        request: Request,
        status: int,
        slug: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> JSONResponse:
        """A problem+json response for ``request`` (counted in the metrics)."""
        self._metrics.http_errors.labels(str(status), slug).inc()
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + slug,
            "title": _phrase(status),
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            **(extra or {}),
        }
        return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)

    async def app_error(self, request: Request, exc: ExStreamTVError) -> JSONResponse:
        """An :class:`ExStreamTVError` as a problem (unknown kinds are a 500)."""
        status, slug = _status_of(exc)
        if status == 500:
            log.error("request %s failed: %s", request.url.path, exc.message)
        extra = None
        if isinstance(exc, XMLTVValidationError):
            extra = {"reason": exc.reason, "channel": exc.channel}
        return self.response(
            request, status, slug, exc.message, headers=_headers_of(exc), extra=extra
        )

    async def validation_error(self, request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's request validation error as a 422 naming each field, without values."""
        errors = [_describe(error) for error in exc.errors()]
        detail = "invalid request: " + "; ".join(f"{e['loc']}: {e['message']}" for e in errors)
        return self.response(request, 422, "invalid-input", detail, extra={"errors": errors})

    async def http_error(self, request: Request, exc: HTTPException) -> JSONResponse:
        """Starlette's HTTP exceptions (unknown route, wrong method...) as problems."""
        status = exc.status_code
        phrase = _phrase(status)
        detail = (
            exc.detail if exc.detail and exc.detail != phrase else _default_detail(request, status)
        )
        slug = phrase.lower().replace(" ", "-").replace("'", "")
        headers = exc.headers
        if status == 405:  # Starlette names only the first route's methods; list them all
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return self.response(request, status, slug, detail, headers=headers)

    def unexpected(self, request: Request) -> JSONResponse:
        """The generic 500 for a bug; the caller has logged the exception."""
        return self.response(request, 500, "internal-error", INTERNAL_DETAIL)


class CatchAll:
    """ASGI middleware: the top of every request. An unexpected exception is logged and
    answered with a generic 500 problem, unless the response had already started."""

    def __init__(self, app: ASGIApp, problems: Problems) -> None:
        self._app = app
        self._problems = problems

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watch)
        except Exception:  # the top of a request: log, count, answer 500
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = self._problems.unexpected(Request(scope))
            await response(scope, receive, send)


def install_problem_handlers(
    app: FastAPI, metrics: Metrics, problems: Problems | None = None
) -> Problems:
    """Route every error of ``app`` through the problem mapper (``problems``, or a new one
    counting in ``metrics``). Call it after adding other middleware: its catch-all must be
    the outermost layer."""
    problems = problems or Problems(metrics)
    app.add_exception_handler(ExStreamTVError, _narrowed(ExStreamTVError, problems.app_error))
    app.add_exception_handler(
        RequestValidationError, _narrowed(RequestValidationError, problems.validation_error)
    )
    app.add_exception_handler(HTTPException, _narrowed(HTTPException, problems.http_error))
    app.add_middleware(CatchAll, problems=problems)
    return problems


def _narrowed(
    kind: type[E], handler: Callable[[Request, E], Awaitable[JSONResponse]]
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """Adapt a handler of one exception type to Starlette's ``(Request, Exception)`` shape."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, kind):  # Starlette only routes ``kind`` (and subclasses) here
            raise exc
        return await handler(request, exc)

    return handle


def _status_of(exc: ExStreamTVError) -> tuple[int, str]:
    for kind, status, slug in _ERROR_STATUS:
        if isinstance(exc, kind):
            return status, slug
    return 500, "server-error"


def _headers_of(exc: ExStreamTVError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TunersBusy):  # what a real HDHomeRun answers; DVRs read this header
        return {"Retry-After": str(exc.retry_after), "X-HDHomeRun-Error": ALL_TUNERS_IN_USE}
    retry = _retry_after(exc)
    return None if retry is None else {"Retry-After": str(retry)}


def _retry_after(exc: ExStreamTVError) -> int | None:
    """Seconds a client should wait before trying again, for temporary refusals."""
    if isinstance(exc, XMLTVValidationError | LimitReached | TooManyAttempts):
        return exc.retry_after
    if isinstance(exc, SourceUnavailable):
        return SOURCE_RETRY_AFTER_SEC
    if isinstance(exc, DatabaseUnavailable):
        return DATABASE_RETRY_AFTER_SEC
    return None


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app fully matches at the request's path."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _describe(error: Any) -> dict[str, str]:
    """``loc`` joined with dots and pydantic's message; ``input`` and ``ctx`` are dropped."""
    loc = ".".join(str(part) for part in error.get("loc", ()))
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    else:  # our validators' messages, without pydantic's "Value error, " prefix
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return {"loc": loc or "request", "message": message}


def _default_detail(request: Request, status: int) -> str:
    if status == 404:
        return f"no endpoint at {request.url.path}"
    if status == 405:
        return f"{request.method} is not allowed on {request.url.path}"
    return _phrase(status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a non-standard code raised by a library
        return f"HTTP {status}"
