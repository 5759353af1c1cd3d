"""The real Debian ``hdhomerun_config`` client finds the real ``exstreamtv serve`` process,
and the DeviceID it finds survives a restart.

The server listens on loopback only, so its UDP discovery binds 127.0.0.1:65001 (the
client's fixed port) and it sends no SSDP; the client is always given the address, so
nothing is broadcast off the machine.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exstreamtv.formats.hdhomerun import device_id_valid
from tests.support import free_port

DISCOVERY_PORT = 65001
PORT_WAIT_SEC = 10.0
START_TIMEOUT_SEC = 120.0
LISTENING = "HDHomeRun UDP discovery listening"
NOT_STARTED = "HDHomeRun discovery not started"

pytestmark = pytest.mark.serial


class Server:
    """``exstreamtv serve`` as a child process on a free loopback port, demo off."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
        env["EXSTREAMTV_DEMO__ENABLED"] = "false"
        argv = [sys.executable, "-m", "exstreamtv", "serve", "--data-dir", str(data_dir),
                "--port", str(self.port)]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SEC
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)  # a child process: nothing to wait on but its port
        pytest.fail(f"server did not start in {START_TIMEOUT_SEC}s:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def discovery_port_free() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", DISCOVERY_PORT))
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            return False
    return True


def port_holder() -> str:
    """Which process holds UDP port 65001 ("an unknown process" when /proc cannot tell)."""
    inodes = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == DISCOVERY_PORT:
                    inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(str(fd.readlink()) in inodes for fd in (entry / "fd").iterdir()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                return f"pid {entry.name} ({command.strip()[:200]})"
    return "an unknown process"


@contextlib.contextmanager
def discoverable_server(data_dir: Path) -> Iterator[Server]:
    """A running server answering UDP discovery on 127.0.0.1:65001.

    Another test or process may hold the port for a moment: wait up to 10 s for it (and
    start again if it was taken between the check and the server's bind), then fail.
    """
    deadline = time.monotonic() + PORT_WAIT_SEC
    while True:
        while not discovery_port_free():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"UDP port {DISCOVERY_PORT}, the HDHomeRun client's fixed port, is held by "
                    f"{port_holder()} and stayed in use for {PORT_WAIT_SEC}s: this test needs "
                    "it; stop that process (or run this test alone)"
                )
            time.sleep(0.1)  # another process's socket: nothing to wait on but the port
        server = Server(data_dir)
        try:
            server.wait_ready()
            if LISTENING in server.output():
                break
            assert NOT_STARTED in server.output(), server.output()
        except BaseException:
            server.stop()
            raise
        server.stop()
        if time.monotonic() > deadline:
            pytest.fail(
                f"UDP port {DISCOVERY_PORT} was taken by {port_holder()} as the server started"
            )
    try:
        yield server
    finally:
        assert server.stop() == 0, server.output()


def discover() -> str:
    """What ``hdhomerun_config discover 127.0.0.1`` prints (unicast, never a broadcast)."""
    executable = shutil.which("hdhomerun_config")
    if executable is None:
        pytest.fail("hdhomerun_config is missing: apt-get install hdhomerun-config")
    result = subprocess.run(
        [executable, "discover", "127.0.0.1"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def test_the_real_client_finds_the_server_and_the_device_id_survives_a_restart(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with discoverable_server(data_dir) as server:
        created = httpx.post(f"{server.url}/api/channels", json={"number": "1", "name": "One"})
        assert created.status_code == 201, created.text
        device = httpx.get(f"{server.url}/discover.json").json()
        found = discover()
        lineup = httpx.get(f"{server.url}/lineup.json").json()
        tvg_ids = re.findall(r'tvg-id="([^"]+)"', httpx.get(f"{server.url}/iptv.m3u").text)

    assert device_id_valid(device["DeviceID"])
    assert device["BaseURL"] == server.url
    assert f"hdhomerun device {device['DeviceID']} found at 127.0.0.1" in found, found
    assert lineup == [
        {"GuideNumber": "1", "GuideName": "One", "URL": f"{server.url}/auto/v1", "HD": 1}
    ]

    with discoverable_server(data_dir) as again:
        assert httpx.get(f"{again.url}/discover.json").json()["DeviceID"] == device["DeviceID"]
        found_again = discover()
        playlist = httpx.get(f"{again.url}/iptv.m3u").text

    assert f"hdhomerun device {device['DeviceID']} found at 127.0.0.1" in found_again
    assert re.findall(r'tvg-id="([^"]+)"', playlist) == tvg_ids
