"""A wheel built from this checkout, installed with its locked dependencies into a fresh
virtualenv, serves the watch page and both browser players without Node.js, and the demo
channel plays in Chromium from it. Minutes of installing: ``make slow`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.support import free_port

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.soak


def _run(*argv: str | Path, cwd: Path = ROOT) -> None:
    subprocess.run([str(a) for a in argv], cwd=cwd, check=True, timeout=900)


def test_the_wheel_installs_from_the_lock_file_and_serves_the_player(tmp_path: Path) -> None:
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path, ROOT)
    (wheel,) = tmp_path.glob("exstreamtv-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "pip", "install", "--quiet", "-r", ROOT / "requirements.lock")
    _run(venv / "bin" / "pip", "install", "--quiet", "--no-deps", wheel)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    server = subprocess.Popen(
        [venv / "bin" / "exstreamtv", "serve", "--data-dir", tmp_path / "data",
         "--port", str(port)],
        env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed server did not come up"
            time.sleep(0.5)
        for player in ("hls.min.js", "mpegts.js"):
            served = httpx.get(f"{base}/ui/vendor/{player}", timeout=10)
            assert served.status_code == 200, player
            assert len(served.content) > 100_000, player
        assert _seconds_played(f"{base}/watch/1") > 1.0
    finally:
        server.terminate()
        server.wait(timeout=30)


def _seconds_played(url: str) -> float:
    """How far Chromium's video on the watch page ``url`` gets within a minute (polled
    through the debugger protocol: the page's CSP forbids eval)."""
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root without it
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=args
        )
        try:
            page = browser.new_page()
            page.goto(url)
            played = 0.0
            deadline = time.monotonic() + 60
            while played <= 1.0 and time.monotonic() < deadline:
                page.wait_for_timeout(250)
                played = float(page.evaluate("document.getElementById('video').currentTime"))
            return played
        finally:
            browser.close()
