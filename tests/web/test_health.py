"""Probes and metrics: ``/healthz``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx

from exstreamtv.services.container import Container, open_container
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory


async def test_liveness_and_readiness_answer_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready", "database": "ok"}


async def test_readiness_waits_for_the_start_up_work_and_names_what_is_pending(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    release = asyncio.Event()
    failing_step_ran = asyncio.Event()

    async def fails() -> None:
        failing_step_ran.set()
        raise RuntimeError("a step that fails is logged; the next one still runs")

    sqlite_container.warm_up.start([("encoders", fails), ("playouts", release.wait)])
    await failing_step_ran.wait()

    starting = await client.get("/readyz")
    assert assert_problem(starting, 503)["detail"] == "starting up: playouts"
    assert starting.headers["retry-after"] == "5"
    assert (await client.get("/healthz")).json() == {"status": "ok"}  # alive meanwhile
    release.set()
    await sqlite_container.warm_up.wait()
    assert (await client.get("/readyz")).json() == {"status": "ready", "database": "ok"}


async def test_readiness_is_a_503_problem_when_the_database_is_gone(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    settings = make_settings(database={"url": f"sqlite+aiosqlite:///{folder / 'x.db'}"})
    async with open_container(settings) as container, open_client(container) as client:
        assert (await client.get("/readyz")).status_code == 200
        shutil.rmtree(folder)  # the volume holding the database went away
        await container.engine.dispose()  # so pooled connections cannot hide it
        response = await client.get("/readyz")
        assert assert_problem(response, 503)["detail"] == "database unreachable"
        assert response.headers["retry-after"] == "5"
        outage = await client.get("/api/channels")  # the API says the same, with its reason
        assert assert_problem(outage, 503)["type"].endswith(":database-unavailable")
        assert (await client.get("/healthz")).status_code == 200


async def test_metrics_expose_process_metrics_and_scan_counts(
    client: httpx.AsyncClient, scanned: int
) -> None:
    response = await client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.text
    assert "process_cpu_seconds_total" in text
    assert f'exstreamtv_library_scans_total{{library="{scanned}",outcome="completed"}} 1.0' in text


async def test_openapi_document_describes_the_api(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["info"]["title"] == "EXStreamTV"
    assert {"/api/libraries", "/api/media", "/api/channels/{number}", "/readyz"} <= set(
        document["paths"]
    )
    assert (await client.get("/docs")).status_code == 200
