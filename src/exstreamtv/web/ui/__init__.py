"""The web UI: server-rendered pages (Jinja2) with small scripts that call the same
``/api`` as every other client, with the same auth (see :mod:`exstreamtv.web.browser_session`).

Nothing is built at import time: :func:`install_ui` adds the routes to an app.
"""

from __future__ import annotations

from fastapi import FastAPI

from exstreamtv.web.ui.assets import assets_router
from exstreamtv.web.ui.pages import pages_router


def install_ui(app: FastAPI) -> None:
    """Serve the UI at ``/`` (pages), ``/login``, ``/logout`` and ``/ui/...`` (assets)."""
    app.include_router(assets_router())
    app.include_router(pages_router())
