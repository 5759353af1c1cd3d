"""Request dependencies: the container, and the two kinds of credentials.

* The **admin key** guards every ``/api`` route, unless the request is local (a loopback
  server, peer and Host). It is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer
  <key>``. Wrong keys back off per client address (:mod:`exstreamtv.services.sign_in_attempts`).
* The optional **access token** (``server.access_token``) guards the URLs handed to players
  and tuners (streams, M3U, XMLTV, HDHomeRun), sent as ``?token=`` or ``X-Access-Token``:
  many players cannot set headers, so the query parameter is accepted.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BeforeValidator

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import Unauthorized
from exstreamtv.services.container import Container
from exstreamtv.web.browser_session import COOKIE, refuse_cross_site, session_allows
from exstreamtv.web.hosts import host_name, is_loopback_name
from exstreamtv.web.proxies import client_address
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


def _iso_text(value: object) -> object:
    """Refuse a bare number where a time is expected: pydantic would read ``0.5`` as epoch
    seconds (1970), a silent misreading of a typo."""
    if isinstance(value, str) and ISO_8601.fullmatch(value.strip()) is None:
        raise ValueError(
            "must be an ISO 8601 date and time with an offset, e.g. 2026-03-01T18:00:00Z"
        )
    return value


ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})"
)
IsoMoment = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
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
ADMITTED = "exstreamtv_admitted"  # request.state flag set by admit()


def is_local(request: Request, app: Container) -> bool:
    """True when the server is loopback-only, the peer is loopback, the ``Host`` names a
    loopback host and no proxy forwarded the request: such a caller is on this machine and
    needs no admin key. (A DNS-rebinding page also arrives from a loopback peer, but with
    its own name in ``Host``.)"""
    if not app.settings.is_loopback_only:
        return False
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    peer = request.client.host if request.client else None
    host = host_name(request.headers.get("host", ""))
    return (
        peer is not None
        and is_loopback_name(peer)
        and host is not None
        and (is_loopback_name(host))
    )


def _presented_key(request: Request) -> str | None:
    """The admin key from ``X-API-Key`` or ``Authorization: Bearer``, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def admit(request: Request, app: Container) -> None:
    """Let the request through to an admin route, or raise.

    Allowed: a local request (:func:`is_local`), the admin key (header or bearer), or a
    web UI session cookie. Raises :class:`Forbidden` for a cross-site change (see
    :mod:`exstreamtv.web.browser_session`), :class:`TooManyAttempts` while the client's
    address backs off after wrong keys, and :class:`Unauthorized` (401 with
    ``WWW-Authenticate: Bearer``) otherwise. A wrong key is counted against the address.
    """
    refuse_cross_site(request)
    if is_local(request, app):
        request.state.exstreamtv_admitted = True
        return
    presented = _presented_key(request)
    if presented is not None:
        address = client_address(request, app.settings)
        app.sign_ins.check(address, "admin_key")
        if await app.admin_keys.verify(presented):
            app.sign_ins.succeeded(address)
            request.state.exstreamtv_admitted = True
            return
        app.sign_ins.failed(address, "admin_key")
    if await session_allows(request, app):
        request.state.exstreamtv_admitted = True
        return
    raise Unauthorized("admin API key required: send X-API-Key or Authorization: Bearer")


async def require_admin(
    request: Request,
    app: ContainerDep,
    api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The admin check of :func:`admit`, unless the admin gate already admitted this
    request before its body was read (every ``/api`` request passes that gate). The two
    security schemes are declared so the OpenAPI document shows how to authenticate."""
    del api_key, bearer
    if getattr(request.state, ADMITTED, False):
        return
    await admit(request, app)


async def require_access_token(
    request: Request,
    app: ContainerDep,
    token: Annotated[str | None, Query(description="The server's access token.")] = None,
    x_access_token: Annotated[str | None, Header()] = None,
) -> None:
    """Allow the request when no access token is configured, when it carries it, or when
    it carries a web UI session cookie (the watch page plays streams without the token).

    Raises :class:`Unauthorized` when a token is configured and missing or wrong (a wrong
    one counts against the client's address), :class:`TooManyAttempts` while that address
    backs off. The comparison is constant-time (on UTF-8 bytes, so any text compares safely).
    """
    expected = app.settings.server.access_token
    if expected is None:
        return
    presented = token if token is not None else x_access_token
    if presented is None and await app.admin_sessions.check(request.cookies.get(COOKIE)):
        return
    if presented is None:
        raise Unauthorized("access token required: add ?token= or send X-Access-Token")
    address = client_address(request, app.settings)
    app.sign_ins.check(address, "access_token")
    if not hmac.compare_digest(
        presented.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        app.sign_ins.failed(address, "access_token")
        raise Unauthorized("access token required: add ?token= or send X-Access-Token")
    app.sign_ins.succeeded(address)
