"""Test support: tiny real media, free ports, a throw-away PostgreSQL, test settings."""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from exstreamtv.config import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_clip(path: Path, seconds: float = 2.0, *, colour: str = "blue", tone: int = 440) -> Path:
    """A real H.264/AAC MP4 clip at ``path`` (160x120, 25 fps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=c={colour}:size=160x120:rate=25",
            "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", "50", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


class PostgresCluster:
    """A private PostgreSQL cluster on loopback, owned by the test session."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="exstreamtv-pg-"))
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            pg = pwd.getpwnam("postgres")
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as_user, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = str(self.dir / "data")
        self._run(str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "app", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", data, "-o", options, "-w", "-l",
                  str(self.dir / "log"), "start")  # fmt: skip

    def pause(self) -> None:
        """Stop the server (connections drop) but keep the cluster, to :meth:`resume`."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w",
                  "stop")  # fmt: skip

    def resume(self) -> None:
        """Start the server again on the same port after :meth:`pause`."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-o", options, "-w",
                  "-l", str(self.dir / "log"), "start")  # fmt: skip

    def create_database(self, name: str) -> None:
        self._run(str(PG_BIN / "createdb"), "-h", str(self.dir), "-p", str(self.port), "-U",
                  "app", name)  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://app@127.0.0.1:{self.port}/{database}"


def noise(size: int) -> bytes:
    """``size`` bytes that no demuxer takes for a format (FFmpeg: "Invalid data found").

    Fixed, not fresh: about 2 in 100 draws of ``os.urandom`` are taken for some format
    (lrc, mp3) and fail with another message, which made a test of the reason flaky."""
    return random.Random(0).randbytes(size)  # noqa: S311 - test data, not a secret


def build_settings(data_dir: Path, database_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test: demo off unless asked, the given database and sections; the
    guide lists one hour of the past unless asked (as with catch-up off), so tests of the
    guide's window need not know catch-up."""
    data: dict[str, Any] = {"data_dir": data_dir, "demo": {"enabled": False}, **sections}
    data["catchup"] = {"guide_past_hours": 1, **data.get("catchup", {})}
    if database_url is not None:
        data["database"] = {"url": database_url, **data.get("database", {})}
    return Settings.model_validate(data)


@contextlib.contextmanager
def cpu_hogs(count: int = 2) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` processes that keep a core busy each, ended (by PID) when the block ends:
    a proof run beside them shows what a loaded machine does."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=30)


_DYING_SERVER = """
import asyncio, sys
from exstreamtv.ffmpeg.process import start_process
async def main():
    child = await start_process(sys.argv[1:], die_with_parent=True)
    print(child.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def orphan_of_a_killed_server(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` the way the supervisor does, in a server process of its own; kill
    that server with SIGKILL (no clean-up code runs) and return the child's pid."""
    server_argv = [sys.executable, "-c", _DYING_SERVER, *argv]
    with subprocess.Popen(server_argv, stdout=subprocess.PIPE, text=True, env=env) as server:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert alive(child)
        server.kill()
        server.wait(timeout=10)
    return child


def gone_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` is gone within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
