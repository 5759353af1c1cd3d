"""``exstreamtv channel plan "sentence"`` against a real server on loopback (the app on a
uvicorn server over a generated library): the plan is shown, and the channel is created
only with ``--yes``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from rich.console import Console

from exstreamtv.cli.channel_plans import plan_channel
from exstreamtv.errors import ServerUnreachable
from exstreamtv.services.container import Container, open_container
from exstreamtv.web.app import create_app
from tests.channel_library import add_channel_library
from tests.support import build_settings, free_port

SENTENCE = "Seinfeld on weekday evenings, horror movies at night"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Container]]:
    settings = build_settings(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    async with open_container(settings) as app:
        await add_channel_library(app)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        served_app = await asyncio.to_thread(create_app, app)  # as the server: off the loop
        config = uvicorn.Config(served_app, lifespan="off", log_config=None,
                                access_log=False, ws="none")  # fmt: skip
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
        finally:
            server.should_exit = True
            await task


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    return subprocess.run(
        [sys.executable, "-m", "exstreamtv", "channel", "plan", *args],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
        check=False,
    )  # fmt: skip


async def test_the_plan_is_shown_and_created_only_with_yes(
    served: tuple[str, Container],
) -> None:
    url, app = served
    console = Console(record=True, width=200)
    shown = await asyncio.to_thread(
        plan_channel, url, SENTENCE, None, console, timezone="Europe/Paris"
    )
    text = console.export_text()
    assert shown
    assert "Seinfeld & Horror Movies on channel 1 (Europe/Paris, read by the rules)" in text
    assert "17:00 Mon,Tue,Wed,Thu,Fri: Seinfeld" in text
    assert "Horror Movies: 3 item(s)" in text
    assert "Nothing was saved" in text
    assert await app.channels.channels() == []

    done = await asyncio.to_thread(cli, SENTENCE, "--url", url, "--timezone", "UTC",
                                   "--name", "Late Show", "--yes")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Created channel 1: Late Show" in done.stdout
    [channel] = await app.channels.channels()
    assert (str(channel.number), channel.name, channel.schedule_id is not None) == (
        "1", "Late Show", True,
    )  # fmt: skip


async def test_a_refused_sentence_or_no_server_saves_nothing(
    served: tuple[str, Container],
) -> None:
    url, app = served
    console = Console(record=True, width=200)
    refused = await asyncio.to_thread(
        plan_channel, url, "delete all channels", None, console, timezone="UTC",
        confirm=lambda _question: True,
    )  # fmt: skip
    assert not refused
    assert "the server answered 422" in console.export_text()
    with pytest.raises(ServerUnreachable, match="is the server running"):
        await asyncio.to_thread(
            plan_channel, f"http://127.0.0.1:{free_port()}", "movies", None, console,
            timezone="UTC",
        )  # fmt: skip
    assert await app.channels.channels() == []
