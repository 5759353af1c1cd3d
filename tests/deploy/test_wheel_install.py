"""A wheel built from this checkout, installed with its locked dependencies into a fresh
virtualenv, serves the watch page and the browser player without Node.js. Minutes of
installing: ``make slow`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
        env={**env, "EXSTREAMTV_DEMO__ENABLED": "false"}, cwd=tmp_path,
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
        player = httpx.get(f"{base}/ui/vendor/hls.min.js", timeout=10)
        assert player.status_code == 200
        assert len(player.content) > 100_000
    finally:
        server.terminate()
        server.wait(timeout=30)
