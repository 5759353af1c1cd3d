"""Shared fixtures: tiny real media, settings, databases (SQLite and a throw-away PostgreSQL).

Media is made once per test session with FFmpeg's lavfi sources and hard-linked where a
test needs copies. PostgreSQL runs as a private cluster on a free loopback port, started
once per session and stopped at the end; each test gets its own database in it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import create_async_engine

from exstreamtv.clock import SystemClock
from exstreamtv.config import Settings
from exstreamtv.metrics import Metrics
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.services.container import Container, open_container
from tests.hardening_sections import hardening_summary, mark_hardening
from tests.seeding import ManualClock
from tests.support import PG_BIN, PostgresCluster, build_settings, make_clip

# CI runs the property tests on a fixed, reproducible set of examples; locally every run
# explores new ones. Neither has a per-example deadline: on a loaded 2-core machine an
# example's wall time says nothing about the code (benchmarks in bench/ measure speed).
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("local", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "local")


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
    # The first request starts the cluster (initdb, pg_ctl: seconds of blocking subprocess
    # work); it must not run on the event loop, whose callbacks the integration suites time.
    cluster: PostgresCluster = await asyncio.to_thread(request.getfixturevalue, "postgres")
    return await _create_database(cluster)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return build_settings(tmp_path / "data", database_url)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    """An open container on a migrated database (SQLite and PostgreSQL)."""
    async with open_container(settings) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    """A clock that stands at ``tests.seeding.T0`` until the test moves it."""
    return ManualClock()


@pytest.fixture
async def clocked(settings: Settings, clock: ManualClock) -> AsyncIterator[Container]:
    """Like ``container`` (SQLite and PostgreSQL), but on the hand-moved ``clock``."""
    async with open_container(settings, clock=clock) as opened:
        yield opened


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[Supervisor]:
    """A started FFmpeg supervisor (cap 4, system clock), closed after the test."""
    found = Supervisor(
        max_processes=4, clock=SystemClock(), metrics=Metrics(), registry=tmp_path / "pids"
    )
    await found.start()
    try:
        yield found
    finally:
        await found.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The hardening suite's section markers (``tests/hardening_sections.py``)."""
    mark_hardening(items, [str(arg) for arg in config.args])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    hardening_summary(terminalreporter, config)
