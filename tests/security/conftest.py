"""Real servers for the attacks: `exstreamtv serve` processes on loopback ports.

``loopback`` is the default install (listening on 127.0.0.1, no key for local callers);
``lan`` listens on every interface (only loopback traffic is sent to it; discovery and SSDP
are off) and needs the admin key, read from its first-run output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_first_run import Server

QUIET = "demo:\n  enabled: false\nhdhomerun:\n  discovery_enabled: false\n  ssdp_enabled: false\n"
# Set through the environment, as an operator might: no child process may inherit it.
ACCESS_TOKEN = "env-access-token-5ecret"
KEY = re.compile(r"Admin API key.*?\n\W*([A-Za-z0-9_-]{43})\b", re.S)


@dataclass
class Station:
    """A running server, its data directory and its admin key."""

    server: Server
    data_dir: Path
    key: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port


def start_station(data_dir: Path, config: str = "", env: dict[str, str] | None = None) -> Station:
    """Start `exstreamtv serve` on ``data_dir`` (created if needed) with ``config`` added to
    the quiet defaults, and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "exstreamtv.yaml").write_text(QUIET + config)
    server = Server(data_dir, env)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    found = KEY.search(server.output())
    return Station(server, data_dir, found.group(1) if found else "")


@pytest.fixture(scope="session")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    """The default install, on a data directory left open (0755, a 0644 config and
    database) by an older version or a careless copy, with an access token for players
    set in its environment."""
    data_dir = tmp_path_factory.mktemp("loopback") / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "exstreamtv.db").touch(mode=0o644)
    station = start_station(data_dir, env={"EXSTREAMTV_SERVER__ACCESS_TOKEN": ACCESS_TOKEN})
    try:
        yield station
    finally:
        station.server.stop()


@pytest.fixture(scope="session")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    """A server listening on every interface: the admin API needs the key."""
    data_dir = tmp_path_factory.mktemp("lan") / "data"
    station = start_station(data_dir, "server:\n  host: 0.0.0.0\n")
    assert station.key, station.server.output()
    try:
        yield station
    finally:
        station.server.stop()
