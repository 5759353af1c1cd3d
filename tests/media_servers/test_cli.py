"""``exstreamtv source ...`` run as a real process against a fake Plex on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer


async def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the CLI without blocking the loop (the fake server answers from it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exstreamtv",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**clean, **(env or {})},
    )
    async with asyncio.timeout(120):
        out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_a_plex_server_is_added_tested_chosen_and_scanned_from_the_command_line(
    fake_plex: tuple[FakePlex, LoopbackServer], tmp_path: Path
) -> None:
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.add(movies, "movie", "Film")
    data = ["--data-dir", str(tmp_path / "data")]
    outputs = []

    status, out = await _cli(
        "source",
        "add",
        "plex",
        "--url",
        server.url,
        "--name",
        "Attic",
        "--path-map",
        "/data=/mnt/nas",
        *data,
        env={"MEDIA_SERVER_TOKEN": TOKEN},
    )
    outputs.append(out)
    assert status == 0, out
    assert f"added plex source 1: Attic ({server.url})" in out

    status, out = await _cli("source", "test", "Attic", *data)
    outputs.append(out)
    assert status == 0, out
    assert "Attic Plex (version 1.40.1.8227-c0dd5a73e): connected" in out
    assert f"{movies.key}  Movies  (movies)" in out

    status, out = await _cli("source", "libraries", "1", movies.key, *data)
    outputs.append(out)
    assert status == 0, out
    status, out = await _cli("scan", "Movies", *data)
    outputs.append(out)
    assert status == 0, out
    assert "Movies: completed; 1 files, 1 added" in out

    status, out = await _cli("source", "list", *data)
    outputs.append(out)
    assert status == 0 and "plex     Attic" in out and "[Movies]" in out

    fake.token = "rotated"
    status, out = await _cli("source", "test", "1", *data)
    outputs.append(out)
    assert status == 1
    assert "error: media server 'Attic' refused the token (HTTP 401 for /)" in out
    assert all(TOKEN not in text for text in outputs)


async def test_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    status, out = await _cli(
        "source", "add", "kodi", "--url", "http://h", "--token", "x", "--data-dir", str(tmp_path)
    )
    assert status == 2
    assert "plex, jellyfin or emby" in out
