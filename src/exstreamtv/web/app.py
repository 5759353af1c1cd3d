"""The FastAPI application, built from a container (nothing happens at import time)."""

from __future__ import annotations

import gc

from fastapi import FastAPI, routing

from exstreamtv import __version__
from exstreamtv.services.container import Container
from exstreamtv.web.guards import AdminGate, BodyLimit, HostGuard
from exstreamtv.web.openapi import problem_openapi
from exstreamtv.web.problems import Problems, install_problem_handlers
from exstreamtv.web.routes import (
    agent,
    channel_plans,
    channels,
    collections,
    filler_presets,
    guide,
    hdhomerun,
    health,
    imports,
    iptv,
    libraries,
    logos,
    media,
    media_sources,
    metadata_health,
    online_sources,
    playouts,
    profiles,
    schedules,
    status,
    troubleshooting,
)
from exstreamtv.web.ui import install_ui


def create_app(container: Container) -> FastAPI:
    """The HTTP app serving ``container``'s services.

    The container is owned by the caller (opened before, closed after serving); the app
    only keeps it on ``app.state.container``. OpenAPI is at ``/openapi.json`` and ``/docs``;
    the web UI is at ``/``.
    """
    app = FastAPI(
        title="EXStreamTV",
        version=__version__,
        description="Your media as live TV channels.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.container = container
    problems = Problems(container.metrics)
    # Added innermost first: host check, then admission, then the body cap, then routing.
    for guard in (BodyLimit, AdminGate, HostGuard):
        app.add_middleware(guard, container=container, problems=problems)
    install_problem_handlers(app, container.metrics, problems)
    for module in (
        health, libraries, media_sources, media, collections, channels, playouts, schedules,
        filler_presets, profiles, metadata_health, troubleshooting, agent, iptv, hdhomerun,
        channel_plans,
    ):  # fmt: skip
        app.include_router(module.router)
    for module in (status, guide, logos, online_sources, imports):
        app.include_router(module.router)
    install_ui(app)
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    prepare_routes(app)
    return app


def prepare_routes(app: FastAPI) -> None:
    """Build every route's request handling now, not on the route's first request.

    FastAPI builds the routes of an included router when a request first reaches them,
    which made a started server's first requests slow; ``create_app`` runs in a worker
    thread at start, where this costs the event loop nothing. The cyclic garbage collector
    is paused meanwhile: the burst of allocations would otherwise set off a full collection
    of all start-up made (about 100 ms), which ``serve`` runs right after building the app
    anyway (``tune_garbage_collector``). Without ``iter_route_contexts`` (FastAPI before
    0.137.2) routes are left as FastAPI built them.
    """
    iterate = getattr(routing, "iter_route_contexts", None)
    if iterate is None:
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in iterate(app.routes):
            pass
    finally:
        if collecting:
            gc.enable()
