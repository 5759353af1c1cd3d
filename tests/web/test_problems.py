"""Every error is an RFC 9457 problem, mapped in one place, counted, and never leaks input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from exstreamtv.errors import (
    Conflict,
    DataDirError,
    ExStreamTVError,
    LimitReached,
    SourceUnavailable,
    Unauthorized,
)
from exstreamtv.metrics import Metrics
from exstreamtv.web.problems import install_problem_handlers
from tests.web.client import assert_problem


def raising_app(metrics: Metrics) -> FastAPI:
    """A tiny app whose routes raise each kind of error."""
    app = FastAPI()
    install_problem_handlers(app, metrics)
    errors: dict[str, Exception] = {
        "busy": LimitReached("all 4 tuners are in use", retry_after=12),
        "offline": SourceUnavailable("the Plex server does not answer"),
        "login": Unauthorized("wrong key"),
        "taken": Conflict("already there"),
        "disk": DataDirError("data directory /x is not usable: read-only"),
        "base": ExStreamTVError("something we raised on purpose"),
        "bug": RuntimeError("internal state dump 0xdeadbeef"),
    }

    @app.get("/raise/{name}")
    async def raise_named(name: str) -> None:
        raise errors[name]

    return app


@pytest.fixture
async def raising(metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=raising_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.mark.parametrize(
    ("name", "status", "slug", "headers"),
    [
        ("busy", 503, "limit-reached", {"retry-after": "12"}),
        ("offline", 503, "source-unavailable", {"retry-after": "30"}),
        ("login", 401, "unauthorized", {"www-authenticate": "Bearer"}),
        ("taken", 409, "conflict", {}),
        ("disk", 500, "server-error", {}),
        ("base", 500, "server-error", {}),
    ],
)
async def test_each_error_kind_maps_to_its_status_slug_and_headers(
    raising: httpx.AsyncClient, name: str, status: int, slug: str, headers: dict[str, str]
) -> None:
    response = await raising.get(f"/raise/{name}")
    problem = assert_problem(response, status)
    assert problem["type"] == f"urn:exstreamtv:problem:{slug}"
    assert {k: response.headers[k] for k in headers} == headers


async def test_unexpected_exception_is_a_generic_500_and_is_logged(
    raising: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await raising.get("/raise/bug")
    assert assert_problem(response, 500)["detail"] == "internal error; see the server log"
    assert "deadbeef" not in response.text
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "internal state dump" in str(record.exc_info[1])  # type: ignore[index]


async def test_problems_are_counted_by_status_and_type(
    raising: httpx.AsyncClient, metrics: Metrics
) -> None:
    await raising.get("/raise/busy")
    await raising.get("/raise/busy")
    await raising.get("/raise/bug")
    text = metrics.render().decode()
    assert 'exstreamtv_http_errors_total{status="503",type="limit-reached"} 2.0' in text
    assert 'exstreamtv_http_errors_total{status="500",type="internal-error"} 1.0' in text


async def test_unknown_route_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = assert_problem(await client.get("/api/nothing-here"), 404)
    assert missing["detail"] == "no endpoint at /api/nothing-here"
    wrong = await client.delete("/healthz")
    assert "DELETE" in assert_problem(wrong, 405)["detail"]
    assert wrong.headers["allow"] == "GET"


async def test_validation_errors_name_fields_and_never_echo_values(
    client: httpx.AsyncClient,
) -> None:
    secret = "hunter2-do-not-echo"
    body = {"number": "5", "name": "X", "enabled": secret, "logo": [secret], "extra": secret}
    response = await client.post("/api/channels", json=body)
    problem = assert_problem(response, 422)
    assert {e["loc"] for e in problem["errors"]} == {"body.enabled", "body.logo", "body.extra"}
    assert secret not in response.text
    assert all(set(e) == {"loc", "message"} for e in problem["errors"])


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/channels", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert assert_problem(response, 422)["errors"]
