"""The FastAPI application, built from a container (nothing happens at import time)."""

from __future__ import annotations

from fastapi import FastAPI

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
    return app
