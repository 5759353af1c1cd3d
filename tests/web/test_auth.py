"""Admin key on the API (unless loopback-only) and the optional access token for players."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from exstreamtv.services.container import Container, open_container
from exstreamtv.web.deps import require_access_token
from exstreamtv.web.problems import install_problem_handlers
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory

ALL_INTERFACES = "0.0.0.0"  # only the setting under test: nothing binds to it


@pytest.fixture
async def exposed(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    """A container whose server listens on every interface."""
    async with open_container(make_settings(server={"host": ALL_INTERFACES})) as opened:
        yield opened


async def test_api_needs_the_admin_key_when_not_loopback_only(exposed: Container) -> None:
    key = await exposed.admin_keys.ensure()
    assert key is not None
    async with open_client(exposed) as client:
        anonymous = await client.get("/api/channels")
        assert "X-API-Key" in assert_problem(anonymous, 401)["detail"]
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert_problem(await client.get("/api/channels", headers={"X-API-Key": "nope"}), 401)
        bad_bearer = {"Authorization": "Bearer nope"}
        assert_problem(await client.post("/api/libraries", headers=bad_bearer, json={}), 401)
        assert_problem(await client.get("/api/media", headers={"Authorization": key}), 401)
        assert (await client.get("/api/channels", headers={"X-API-Key": key})).status_code == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert (await client.get("/api/collections", headers=bearer)).status_code == 200


async def test_probes_and_metrics_need_no_key(exposed: Container) -> None:
    await exposed.admin_keys.ensure()
    async with open_client(exposed) as client:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(path)).status_code == 200, path


async def test_rotated_key_replaces_the_old_one(exposed: Container) -> None:
    old = await exposed.admin_keys.ensure()
    new = await exposed.admin_keys.rotate()
    async with open_client(exposed) as client:
        assert_problem(await client.get("/api/channels", headers={"X-API-Key": str(old)}), 401)
        assert (await client.get("/api/channels", headers={"X-API-Key": new})).status_code == 200


async def test_loopback_only_server_needs_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/channels")).status_code == 200
    assert (await client.get("/api/libraries")).status_code == 200


@pytest.mark.parametrize(
    "header",
    [{"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "::1"}],
)
async def test_proxied_request_to_a_loopback_server_needs_the_key(
    client: httpx.AsyncClient, header: dict[str, str]
) -> None:
    assert_problem(await client.get("/api/channels", headers=header), 401)


async def test_key_rotated_by_another_process_applies_without_restart(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"host": ALL_INTERFACES})
    async with open_container(settings) as server, open_container(settings) as cli:
        old = await server.admin_keys.ensure()
        new = await cli.admin_keys.rotate()
        async with open_client(server) as client:
            assert_problem(await client.get("/api/channels", headers={"X-API-Key": str(old)}), 401)
            ok = await client.get("/api/channels", headers={"X-API-Key": new})
            assert ok.status_code == 200


def token_app(container: Container) -> FastAPI:
    """A tiny app with one route behind ``require_access_token``."""
    app = FastAPI()
    app.state.container = container
    install_problem_handlers(app, container.metrics)

    @app.get("/playlist", dependencies=[Depends(require_access_token)])
    async def playlist() -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def fetch(
    container: Container,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """GET the token-protected route of a fresh tiny app."""
    transport = httpx.ASGITransport(app=token_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.get("/playlist", params=params, headers=headers)


async def test_without_an_access_token_configured_player_urls_are_open(
    sqlite_container: Container,
) -> None:
    assert (await fetch(sqlite_container)).status_code == 200


async def test_configured_access_token_is_required_as_query_or_header(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"access_token": "s3cret-token"})
    async with open_container(settings) as container:
        missing = await fetch(container)
        assert "token" in assert_problem(missing, 401)["detail"]
        assert missing.headers["www-authenticate"] == "Bearer"
        assert_problem(await fetch(container, params={"token": "wrong"}), 401)
        assert_problem(await fetch(container, params={"token": "s3cret-tokén"}), 401)
        assert_problem(await fetch(container, headers={"X-Access-Token": "s3cret"}), 401)
        assert (await fetch(container, params={"token": "s3cret-token"})).status_code == 200
        assert (
            await fetch(container, headers={"X-Access-Token": "s3cret-token"})
        ).status_code == 200
