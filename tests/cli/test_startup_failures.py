"""``exstreamtv serve`` that cannot start says why in one line, exits 2 and creates
nothing: no data directory, no database, no admin key, no "listening" line."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exstreamtv.cli.app import app
from tests.support import free_port

EXE = str(Path(sys.executable).with_name("exstreamtv"))


def _serve(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    return subprocess.run(
        [EXE, "serve", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, env={**environ, **env}, check=False,
    )  # fmt: skip


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "listening" not in result.stderr and "Admin API key" not in result.stderr
    return lines[0]


def test_a_taken_port_fails_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_serve(tmp_path / "data", "--port", str(port)))
    assert line == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (server.port / --port)"
    )
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:secret-pw@127.0.0.1:{port}/x",
         "error: environment variable EXSTREAMTV_DATABASE__URL: the database cannot be reached"),
        ("postgresql+asyncpg://u:secret-pw@127.0.0.1:notaport/x",
         "error: database.url is not a valid SQLAlchemy URL"),
        ("mysql://u:secret-pw@127.0.0.1/x",
         "error: database.url: unsupported database 'mysql' (use sqlite or postgresql)"),
        ("sqlite:////nonexistent-folder/x.db",
         "error: environment variable EXSTREAMTV_DATABASE__URL: the SQLite database's folder"
         " /nonexistent-folder does not exist"),
    ],
)  # fmt: skip
def test_a_bad_database_url_is_one_line_naming_the_variable(
    tmp_path: Path, url: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    line = _invoke(monkeypatch, data, EXSTREAMTV_DATABASE__URL=url.format(port=free_port()))
    assert line.startswith(expected)
    assert "secret-pw" not in line
    assert not data.exists()


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """``serve`` run in process installs its own root handler (writing to the runner's
    stderr, closed afterwards) and logger levels: put back what was there, so later tests'
    logs and captured records are untouched."""
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    saved = [(lg, lg.level, lg.handlers[:], lg.filters[:]) for lg in loggers]
    try:
        yield
    finally:
        for lg, level, handlers, filters in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.filters[:] = filters


def _invoke(monkeypatch: pytest.MonkeyPatch, data: Path, **env: str) -> str:
    """The command run in process (its own code path, without a new interpreter)."""
    for name in [k for k in os.environ if k.startswith("EXSTREAMTV_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(data), "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    return str(line)


def test_a_bad_environment_variable_is_named_not_a_yaml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _invoke(monkeypatch, tmp_path / "data", EXSTREAMTV_PLAYOUT__HORIZON_HOURS="eighty")
    assert line.startswith(
        "error: invalid configuration: environment variable EXSTREAMTV_PLAYOUT__HORIZON_HOURS"
        ", playout.horizon_hours:"
    )
    assert "yaml" not in line
    assert not (tmp_path / "data").exists()


def test_an_unusable_data_dir_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    line = _invoke(monkeypatch, tmp_path / "a-file" / "data")
    assert line.startswith(f"error: data directory {tmp_path / 'a-file' / 'data'} is not usable")
