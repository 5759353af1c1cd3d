"""A newcomer's first run: the real `exstreamtv serve` process, the demo, real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

START_TIMEOUT_SEC = 180.0


class Server:
    """`exstreamtv serve` as a child process on a free loopback port."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
        # UDP 65001 is the one fixed port; the real-client discovery test owns it.
        env["EXSTREAMTV_HDHOMERUN__DISCOVERY_ENABLED"] = "false"
        env.update(extra_env or {})
        # A relative --data-dir, as `make run` passes it.
        argv = [sys.executable, "-m", "exstreamtv", "serve", "--data-dir", data_dir.name,
                "--port", str(self.port)]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data_dir.parent
            )

    def wait_ready(self) -> None:
        """Until ``/readyz`` says the start-up work is done (``/healthz`` answers sooner)."""
        deadline = time.monotonic() + START_TIMEOUT_SEC
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"server did not start in {START_TIMEOUT_SEC}s:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    running = Server(data_dir)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_first_run_serves_demo_channels_and_media(server: Server, data_dir: Path) -> None:
    channels = httpx.get(f"{server.url}/api/channels").json()
    assert [(c["number"], c["name"]) for c in channels] == [
        ("1", "Demo Shows"),
        ("2", "Demo Movies"),
    ]

    episodes = httpx.get(f"{server.url}/api/media", params={"kind": "episode", "limit": 100}).json()
    assert episodes["total"] == 9
    shows = {(e["show"], e["season"], e["episode"]) for e in episodes["items"]}
    assert ("Color Bars Theater", 2, 2) in shows and ("Tone Patrol", 1, 4) in shows
    for episode in episodes["items"]:
        assert episode["metadata"]["status"] == "ok"
        assert episode["video_codec"] == "h264" and episode["audio_codec"] == "aac"
    durations = {e["show"]: e["duration_ms"] for e in episodes["items"] if e["season"] == 1}
    assert abs(durations["Color Bars Theater"] - 30_000) <= 100
    assert abs(durations["Tone Patrol"] - 20_000) <= 100

    movies = httpx.get(f"{server.url}/api/media", params={"kind": "movie"}).json()
    by_title = {m["title"]: m for m in movies["items"]}
    assert by_title["The Long Test"]["metadata"]["source"] == "nfo"
    assert abs(by_title["The Long Test"]["duration_ms"] - 120_000) <= 100

    for number in ("1", "2"):
        now = httpx.get(f"{server.url}/api/channels/{number}/now").json()
        assert now["entry"] is not None, now
        start, finish = (datetime.fromisoformat(now["entry"][k]) for k in ("start", "finish"))
        assert start <= datetime.fromisoformat(now["at"]) < finish
        assert (
            httpx.get(f"{server.url}/api/channels/{number}/playout/info").json()["warnings"] == []
        )

    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'exstreamtv_library_scans_total{library="1",outcome="completed"} 1.0' in metrics
    assert "process_resident_memory_bytes" in metrics
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    assert "Admin API key" in server.output()
    assert server.stop() == 0
    assert "Finished server process" in server.output()


def test_restart_keeps_data_and_does_not_regenerate(server: Server, data_dir: Path) -> None:
    first = httpx.get(f"{server.url}/api/media", params={"limit": 500}).json()
    device = httpx.get(f"{server.url}/discover.json").json()["DeviceID"]
    tvg_ids = tvg_ids_of(httpx.get(f"{server.url}/iptv/channels.m3u").text)
    assert server.stop() == 0
    again = Server(data_dir)
    try:
        again.wait_ready()
        assert httpx.get(f"{again.url}/api/media", params={"limit": 500}).json() == first
        assert len(httpx.get(f"{again.url}/api/channels").json()) == 2
        assert httpx.get(f"{again.url}/discover.json").json()["DeviceID"] == device
        assert tvg_ids_of(httpx.get(f"{again.url}/iptv/channels.m3u").text) == tvg_ids
        assert "Admin API key" not in again.output()
        assert "generating the demo" not in again.output()
    finally:
        assert again.stop() == 0


def tvg_ids_of(playlist: str) -> list[str]:
    return re.findall(r'tvg-id="([^"]+)"', playlist)
