"""`exstreamtv troubleshoot` against a real `exstreamtv serve` process, and without one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_first_run import Server
from tests.support import free_port


def troubleshoot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    return subprocess.run(
        [sys.executable, "-m", "exstreamtv", "troubleshoot", *args],
        capture_output=True, text=True, timeout=120, env={**clean, **(env or {})}, check=False,
    )  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # The client's own variables must not upset the server's strict settings.
    running = Server(
        tmp_path / "data",
        {"EXSTREAMTV_DEMO__ENABLED": "false", "EXSTREAMTV_ADMIN_KEY": "k", "EXSTREAMTV_URL": "x"},
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def test_the_cli_prints_the_running_servers_answer(server: Server) -> None:
    done = troubleshoot("Why is the guide empty?", env={"EXSTREAMTV_URL": server.url})
    assert done.returncode == 0, done.stderr
    # The answer is wrapped to the terminal's width, and may open with other notes.
    assert "The metadata failure ratio is 0.00" in " ".join(done.stdout.split())
    assert "Evidence" in done.stdout
    assert "restart_velocity=" in done.stdout


def test_a_question_the_server_refuses_exits_1_with_its_reason(server: Server) -> None:
    done = troubleshoot("x" * 3000, "--url", server.url)
    assert done.returncode == 1
    assert "422" in done.stdout


def test_without_a_server_the_cli_says_so_and_exits_1() -> None:
    done = troubleshoot("anything wrong?", "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "is the server running?" in done.stderr
    assert "Traceback" not in done.stderr
