"""Probes and metrics: ``/healthz``, ``/readyz``, ``/metrics``.

These are open (no admin key): orchestrators and Prometheus scrapers cannot log in, and
none of them reveals anything but liveness and counters.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from exstreamtv.services.health import ready
from exstreamtv.web.deps import ContainerDep

router = APIRouter(tags=["health"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing else."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(app: ContainerDep) -> dict[str, str]:
    """Readiness: the database answers ``SELECT 1`` and the start-up work (encoders,
    every playout extended) is done; a 503 problem saying which otherwise."""
    await ready(app)
    return {"status": "ready", "database": "ok"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_TEXT: {}}, "description": "Prometheus metrics"}},
)
async def metrics(app: ContainerDep) -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(app.metrics.render(), media_type=PROMETHEUS_TEXT)
