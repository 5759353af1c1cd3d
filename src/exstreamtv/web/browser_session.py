"""How a browser proves it is the admin: the session cookie, and the CSRF rules around it.

* The cookie (``exstreamtv_session``) holds a signed token from
  :class:`~exstreamtv.services.admin_sessions.AdminSessions`, never the admin key. It is
  HttpOnly, SameSite=Strict, and Secure when the page was reached over HTTPS.
* A state-changing request (anything but GET, HEAD, OPTIONS) that carries an ``Origin``
  naming another host is refused, whoever sends it: browsers always send ``Origin`` on
  cross-site POST/PUT/DELETE, and a loopback server must not obey a page from elsewhere.
* A state-changing request authenticated *by the cookie* must also carry the header
  ``X-EXStreamTV-UI: 1``, which the UI's scripts always send and a cross-site form cannot.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from exstreamtv.errors import Forbidden
from exstreamtv.services.container import Container

COOKIE = "exstreamtv_session"
CSRF_HEADER = "X-EXStreamTV-UI"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def refuse_cross_site(request: Request) -> None:
    """Raise :class:`Forbidden` for a state-changing request whose ``Origin`` is another host
    (``Origin: null`` included). Requests without ``Origin`` (non-browser clients) pass."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        raise Forbidden("cross-site request refused: the Origin is not this server")


async def session_allows(request: Request, app: Container) -> bool:
    """True when the request carries a valid session cookie. For a state-changing request
    the UI header is required too (:class:`Forbidden` without it: a cookie alone never
    authorises a change)."""
    if not await app.admin_sessions.check(request.cookies.get(COOKIE)):
        return False
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden(f"a change made with the session cookie must send {CSRF_HEADER}: 1")
    return True


def set_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    """Put the session ``token`` in the response's cookie (see the module docstring)."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(
        COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
