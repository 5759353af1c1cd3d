"""No API response ever contains a configured secret (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from exstreamtv.services.container import open_container
from tests.support import build_settings
from tests.web.client import create_and_scan, open_client

LLM_KEY = "sk-llm-key-0123456789"
ACCESS_TOKEN = "access-token-9876543210"
DB_PASSWORD = "db-pass-5647382910"
SECRETS = (LLM_KEY, ACCESS_TOKEN, DB_PASSWORD)


async def every_response(client: httpx.AsyncClient, library_id: int) -> list[httpx.Response]:
    """Successful and failing answers from every endpoint family."""
    return [
        await client.get("/openapi.json"),
        await client.get("/docs"),
        await client.get("/healthz"),
        await client.get("/readyz"),
        await client.get("/metrics"),
        await client.get("/api/libraries"),
        await client.get(f"/api/libraries/{library_id}"),
        await client.get(f"/api/libraries/{library_id}/scan"),
        await client.get(f"/api/libraries/{library_id}/problems"),
        await client.get("/api/media"),
        await client.get("/api/collections"),
        await client.get("/api/channels"),
        await client.get("/api/nowhere"),
        await client.get("/api/channels/x"),
        await client.get("/api/media", params={"limit": -1}),
        await client.post("/api/libraries", json={"name": "X", "paths": ["/nonexistent"]}),
        await client.post("/api/channels", json={"bogus": True}),
    ]


async def test_no_response_contains_a_configured_secret(
    database_url: str, tmp_path: Path, media_dir: Path
) -> None:
    settings = build_settings(
        tmp_path / "data",
        make_url(database_url).set(password=DB_PASSWORD).render_as_string(hide_password=False),
        llm={"api_key": LLM_KEY},
        server={"access_token": ACCESS_TOKEN},
    )
    async with open_container(settings) as container, open_client(container) as client:
        library_id = await create_and_scan(client, container, media_dir)
        responses = await every_response(client, library_id)
    assert any(r.status_code >= 400 for r in responses)
    for response in responses:
        leaked = [s for s in SECRETS if s in response.text]
        assert not leaked, f"{response.request.url.path} leaks {leaked}"
