"""Request dependencies: the container, and the two kinds of credentials.

* The **admin key** guards every ``/api`` route, unless the server listens on loopback
  only. It is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``.
* The optional **access token** (``server.access_token``) guards the URLs handed to players
  and tuners (streams, M3U, XMLTV, HDHomeRun), sent as ``?token=`` or ``X-Access-Token``:
  many players cannot set headers, so the query parameter is accepted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import Unauthorized
from exstreamtv.services.container import Container
from exstreamtv.web.browser_session import COOKIE, refuse_cross_site, session_allows
from exstreamtv.web.schemas import MAX_ID

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="AdminKey")
_bearer = HTTPBearer(auto_error=False, scheme_name="AdminBearer")


def container(request: Request) -> Container:
    """The container the app was created with."""
    found: Container = request.app.state.container
    return found


ContainerDep = Annotated[Container, Depends(container)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A stored id.")]


def channel_number(
    number: Annotated[str, Path(max_length=20, examples=["5", "5.1"])],
) -> ChannelNumber:
    """The path's channel number; an invalid one is a 422 (InvalidInput)."""
    return ChannelNumber.parse(number)


NumberPath = Annotated[ChannelNumber, Depends(channel_number)]
MAX_OFFSET = 10**9
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which slice of a listing to return: ``limit`` items from ``offset``."""

    offset: int
    limit: int


def page_params(
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> PageParams:
    """``?offset=`` (0 or more) and ``?limit=`` (1-500, default 50)."""
    return PageParams(offset, limit)


PageDep = Annotated[PageParams, Depends(page_params)]


# Headers a reverse proxy adds. A loopback-only server that receives them is being reached
# through a proxy, possibly from anywhere, so it must not treat the caller as local.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_local(request: Request, app: Container) -> bool:
    """True when the server is loopback-only and the request was not forwarded by a proxy:
    such a caller is on this machine and needs no admin key."""
    proxied = any(name in request.headers for name in _PROXY_HEADERS)
    return app.settings.is_loopback_only and not proxied


async def require_admin(
    request: Request,
    app: ContainerDep,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Allow the request when the server is loopback-only and the request was not
    forwarded by a proxy, or when it carries the admin key or a web UI session cookie.

    Raises :class:`Unauthorized` otherwise (a 401 with ``WWW-Authenticate: Bearer``), and
    :class:`Forbidden` for a cross-site change (see :mod:`exstreamtv.web.browser_session`).
    """
    refuse_cross_site(request)
    if is_local(request, app):
        return
    presented = api_key or (bearer.credentials if bearer else None)
    if await app.admin_keys.verify(presented) or await session_allows(request, app):
        return
    raise Unauthorized("admin API key required: send X-API-Key or Authorization: Bearer")


async def require_access_token(
    request: Request,
    app: ContainerDep,
    token: Annotated[str | None, Query(description="The server's access token.")] = None,
    x_access_token: Annotated[str | None, Header()] = None,
) -> None:
    """Allow the request when no access token is configured, when it carries it, or when
    it carries a web UI session cookie (the watch page plays streams without the token).

    Raises :class:`Unauthorized` when a token is configured and missing or wrong. The
    comparison is constant-time (on UTF-8 bytes, so any text compares safely).
    """
    expected = app.settings.server.access_token
    if expected is None:
        return
    presented = token if token is not None else x_access_token
    if presented is None and await app.admin_sessions.check(request.cookies.get(COOKIE)):
        return
    if presented is None or not hmac.compare_digest(
        presented.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise Unauthorized("access token required: add ?token= or send X-Access-Token")
