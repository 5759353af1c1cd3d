"""The UI's pages and its login. Pages are shells: their scripts load data from ``/api``.

A page needs what ``/api`` needs: nothing on a loopback-only server reached directly,
otherwise a session cookie from ``/login``; without it the browser is sent to ``/login``.
Templates autoescape everything; no secret is ever put into a page.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import NotFound, TooManyAttempts
from exstreamtv.web.browser_session import COOKIE, clear_cookie, refuse_cross_site, set_cookie
from exstreamtv.web.deps import ContainerDep, IdPath, is_local
from exstreamtv.web.proxies import client_address
from exstreamtv.web.ui.assets import HERE, hls_js_installed, mpegts_js_installed

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

# The pages load only their own scripts and styles; media and workers may use blob: URLs
# because hls.js feeds the video element through Media Source Extensions.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# (path, template, title): pages without path parameters.
SIMPLE_PAGES = (
    ("/", "dashboard.html", "Dashboard"),
    ("/channels", "channels.html", "Channels"),
    ("/channels/new", "channel_form.html", "New channel"),
    ("/channels/from-sentence", "channel_plan.html", "New channel from a sentence"),
    ("/guide", "guide.html", "TV guide"),
    ("/schedules", "schedules.html", "Schedules"),
    ("/schedules/new", "schedule_form.html", "New schedule"),
    ("/collections", "collections.html", "Collections"),
    ("/collections/new", "collection_form.html", "New collection"),
    ("/filler", "filler.html", "Filler presets"),
    ("/libraries", "libraries.html", "Libraries"),
    ("/logs", "logs.html", "Logs"),
    ("/import", "import.html", "Import"),
)
Key = Annotated[str, Form(max_length=512)]
Next = Annotated[str, Form(max_length=2048)]


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this server, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@functools.cache
def _templates() -> Jinja2Templates:
    """The page templates, loaded on the first page asked for (Jinja costs an idle server
    that nobody browses about 10 MB)."""
    from fastapi.templating import Jinja2Templates  # noqa: PLC0415
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
    )
    return Jinja2Templates(env=environment)


def pages_router() -> APIRouter:
    """Every page, ``/login`` and ``/logout``."""
    router = APIRouter(include_in_schema=False)

    async def page(
        request: Request, app: ContainerDep, template: str, status: int = 200, **context: Any
    ) -> Response:
        signed_in = await app.admin_sessions.check(request.cookies.get(COOKIE))
        if not signed_in and not is_local(request, app):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        values = {"signed_in": signed_in, "path": request.url.path, **context}
        return _templates().TemplateResponse(
            request, template, values, status_code=status, headers=HEADERS
        )

    for path, template, title in SIMPLE_PAGES:

        async def simple(
            request: Request, app: ContainerDep, template: str = template, title: str = title
        ) -> Response:
            return await page(request, app, template, title=title)

        router.add_api_route(path, simple, methods=["GET"], response_class=Response)

    @router.get("/channels/{number}/edit")
    async def edit_channel(request: Request, app: ContainerDep, number: str) -> Response:
        parsed = str(ChannelNumber.parse(number))
        return await page(request, app, "channel_form.html", title="Edit channel", number=parsed)

    @router.get("/watch/{number}")
    async def watch(request: Request, app: ContainerDep, number: str) -> Response:
        parsed = ChannelNumber.parse(number)
        try:
            channel = await app.channels.channel(parsed)
        except NotFound:
            return await page(
                request, app, "watch_missing.html", status=404, title="No such channel",
                number=str(parsed),
            )  # fmt: skip
        players = await asyncio.to_thread(lambda: (hls_js_installed(), mpegts_js_installed()))
        return await page(
            request, app, "watch.html", title=f"Watch {parsed} · {channel.name}",
            number=str(parsed), hls_js=players[0], mpegts_js=players[1],
            enabled=channel.enabled, scheduled=channel.schedule_id is not None,
        )  # fmt: skip

    @router.get("/troubleshooting")
    async def troubleshooting(request: Request, app: ContainerDep) -> Response:
        mpegts = await asyncio.to_thread(mpegts_js_installed)
        return await page(
            request, app, "troubleshooting.html", title="Troubleshooting", mpegts_js=mpegts
        )

    @router.get("/collections/{collection_id}")
    async def edit_collection(
        request: Request, app: ContainerDep, collection_id: IdPath
    ) -> Response:
        return await page(
            request, app, "collection_form.html", title="Collection", collection_id=collection_id
        )

    @router.get("/schedules/{schedule_id}")
    async def edit_schedule(request: Request, app: ContainerDep, schedule_id: IdPath) -> Response:
        return await page(
            request, app, "schedule_form.html", title="Edit schedule", schedule_id=schedule_id
        )

    @router.get("/libraries/{library_id}")
    async def library_media(request: Request, app: ContainerDep, library_id: IdPath) -> Response:
        return await page(request, app, "media.html", title="Media", library_id=library_id)

    @router.get("/settings")
    async def settings(request: Request, app: ContainerDep) -> Response:
        return await page(
            request, app, "settings.html", title="Settings", config=app.settings,
            device_id=await app.device.ensure(),
        )  # fmt: skip

    @router.get("/login")
    async def login_form(request: Request, app: ContainerDep, next: str = "/") -> Response:
        if await app.admin_sessions.check(request.cookies.get(COOKIE)):
            return RedirectResponse(safe_next(next), status_code=303)
        return _templates().TemplateResponse(
            request, "login.html", _login_values(request, app, next, None), headers=HEADERS
        )

    @router.post("/login")
    async def login(request: Request, app: ContainerDep, key: Key, next: Next = "/") -> Response:
        refuse_cross_site(request)
        address = client_address(request, app.settings)
        try:
            app.sign_ins.check(address, "sign_in")
        except TooManyAttempts as err:
            values = _login_values(request, app, next, err.message)
            headers = {**HEADERS, "Retry-After": str(err.retry_after)}
            return _templates().TemplateResponse(
                request, "login.html", values, status_code=429, headers=headers
            )
        token = await app.admin_sessions.open(key.strip())
        if token is None:
            app.sign_ins.failed(address, "sign_in")
            # The form again with the message (200: a 401 would need WWW-Authenticate, and
            # browsers log it as a failed resource).
            values = _login_values(request, app, next, "That is not the admin key.")
            return _templates().TemplateResponse(request, "login.html", values, headers=HEADERS)
        app.sign_ins.succeeded(address)
        response = RedirectResponse(safe_next(next), status_code=303)
        set_cookie(response, request, token, app.admin_sessions.lifetime_sec)
        return response

    @router.post("/logout")
    async def logout(request: Request, app: ContainerDep) -> Response:
        refuse_cross_site(request)
        await app.admin_sessions.revoke(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        clear_cookie(response)
        return response

    return router


def _login_values(
    request: Request, app: ContainerDep, next: str, error: str | None
) -> dict[str, Any]:
    return {
        "title": "Sign in", "signed_in": False, "path": "/login", "next": safe_next(next),
        "error": error, "local": is_local(request, app),
    }  # fmt: skip
