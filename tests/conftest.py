"""Shared fixtures: tiny real media, settings, databases (SQLite and a throw-away PostgreSQL).

Media is made once per test session with FFmpeg's lavfi sources and hard-linked where a
test needs copies. PostgreSQL runs as a private cluster on a free loopback port, started
once per session and stopped at the end; each test gets its own database in it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from exstreamtv.config import Settings
from exstreamtv.services.container import Container, open_container

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


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """Clips of a few lengths, made once per session."""
    folder = tmp_path_factory.mktemp("clips")
    return {secs: make_clip(folder / f"clip-{secs}.mp4", secs) for secs in (1.0, 2.0, 3.0)}


@pytest.fixture
def place_clip(clip_cache: dict[float, Path]) -> Callable[[Path, float], Path]:
    """Put a cached clip of ``seconds`` (1, 2 or 3) at a path, as a hard link."""

    def place(target: Path, seconds: float = 2.0) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(clip_cache[seconds], target)
        return target

    return place


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

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://app@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is not installed: run `make test`, which installs it")
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def _create_database(cluster: PostgresCluster) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await engine.dispose()
    return cluster.url(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in a temp folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return await _create_database(cluster)


def build_settings(data_dir: Path, database_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test: demo off unless asked, the given database and sections."""
    data: dict[str, Any] = {"data_dir": data_dir, "demo": {"enabled": False}, **sections}
    if database_url is not None:
        data["database"] = {"url": database_url, **data.get("database", {})}
    return Settings.model_validate(data)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return build_settings(tmp_path / "data", database_url)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    """An open container on a migrated database (SQLite and PostgreSQL)."""
    async with open_container(settings) as opened:
        yield opened
