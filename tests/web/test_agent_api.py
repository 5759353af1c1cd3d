"""``/api/agent``: starting runs, approvals acted on over HTTP, the state with every measured
value, and the refusals (409 disabled, 503 containment) as problems."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from exstreamtv.services.container import Container, open_container
from tests.lineups import movie, on_air
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory


@pytest.fixture
async def enabled(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    settings = make_settings(ai_agent={"bounded_agent_enabled": True})
    async with open_container(settings) as opened:
        yield opened


@pytest.fixture
async def api(enabled: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(enabled) as opened:
        yield opened


async def test_runs_are_refused_with_409_while_the_agent_is_disabled(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/agent/runs", json={"goal": "metadata"})
    body = assert_problem(response, 409)
    assert "bounded_agent_enabled" in body["detail"]


async def test_a_run_is_started_and_listed(api: httpx.AsyncClient, enabled: Container) -> None:
    await on_air(enabled, "2", [movie("Film", year=2000)])
    created = await api.post("/api/agent/runs", json={"goal": "playout", "channel": "2"})
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["outcome"] == "completed"
    assert [s["tool"] for s in run["steps"]] == ["rebuild_playout", "rebuild_xmltv"]
    assert all(s["result"] == "ok" for s in run["steps"])
    listed = (await api.get("/api/agent/runs")).json()
    assert [r["id"] for r in listed] == [run["id"]]
    text = enabled.metrics.render().decode()
    assert 'exstreamtv_agent_runs_total{outcome="completed"} 1.0' in text
    assert 'exstreamtv_agent_tool_calls_total{result="ok",tool="rebuild_playout"} 1.0' in text


async def test_an_unknown_channel_or_goal_is_refused(api: httpx.AsyncClient) -> None:
    assert_problem(await api.post("/api/agent/runs", json={"goal": "stream", "channel": "9"}), 404)
    assert_problem(await api.post("/api/agent/runs", json={"goal": "reboot"}), 422)
    assert_problem(
        await api.post("/api/agent/runs", json={"goal": "metadata", "tool": "restart"}), 422
    )


async def test_containment_refuses_a_run_with_503_and_retry_after(
    api: httpx.AsyncClient, enabled: Container
) -> None:
    for channel in range(10):
        enabled.supervisor.restart(str(channel), "crash")
    response = await api.post("/api/agent/runs", json={"goal": "metadata"})
    body = assert_problem(response, 503)
    assert "restart_velocity" in body["detail"]
    assert response.headers["retry-after"] == "30"
    state = (await api.get("/api/agent/state")).json()
    assert state["containment"]["active"] is True
    assert state["containment"]["restart_velocity_per_min"] == 10.0


async def test_a_held_restart_is_approved_over_http(
    api: httpx.AsyncClient, enabled: Container
) -> None:
    await on_air(enabled, "2", [movie("Film", year=2000)])
    run = (await api.post("/api/agent/runs", json={"goal": "stream", "channel": "2"})).json()
    assert run["outcome"] == "awaiting_approval"
    [held] = (await api.get("/api/agent/approvals")).json()
    assert (held["tool"], held["status"]) == ("restart_channel", "pending")
    approved = await api.post(f"/api/agent/approvals/{held['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["result"]) == ("approved", "ok")
    assert "not streaming" in approved.json()["detail"]
    assert_problem(await api.post(f"/api/agent/approvals/{held['id']}/reject"), 409)
    assert_problem(await api.post("/api/agent/approvals/77/approve"), 404)


async def test_a_held_restart_can_be_rejected(api: httpx.AsyncClient, enabled: Container) -> None:
    await on_air(enabled, "2", [movie("Film", year=2000)])
    await api.post("/api/agent/runs", json={"goal": "stream", "channel": "2"})
    [held] = (await api.get("/api/agent/approvals")).json()
    rejected = await api.post(f"/api/agent/approvals/{held['id']}/reject")
    assert rejected.json()["status"] == "rejected"
    assert enabled.supervisor.restart_velocity == 0


async def test_the_state_shows_flags_measurements_and_limits(api: httpx.AsyncClient) -> None:
    state = (await api.get("/api/agent/state")).json()
    assert state["flags"]["bounded_agent_enabled"] is True
    assert state["flags"]["metadata_self_resolution_enabled"] is False
    assert state["planner"] == "rules"
    containment = state["containment"]
    assert containment["active"] is False
    assert containment["pool_pressure"] == 0.0
    assert containment["pool_pressure_limit"] == 0.9
    assert containment["restart_velocity_limit"] == 10.0
    assert containment["rss_bytes"] > 0
    assert state["shutdown_until"] is None
    assert state["suspensions"] == {}


async def test_the_agent_api_needs_the_admin_key_beyond_loopback(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"host": "0.0.0.0"}, ai_agent={"bounded_agent_enabled": True})
    async with open_container(settings) as opened, open_client(opened) as client:
        for method, path in (("GET", "/api/agent/state"), ("GET", "/api/agent/runs"),
                             ("POST", "/api/agent/approvals/1/approve")):  # fmt: skip
            assert_problem(await client.request(method, path), 401)
