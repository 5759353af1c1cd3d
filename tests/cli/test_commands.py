"""The command line, run as a real process the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Place = Callable[[Path, float], Path]


def exstreamtv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    return subprocess.run(
        [sys.executable, "-m", "exstreamtv", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **(env or {})},
        check=False,
    )


def test_version_prints_the_package_version() -> None:
    from exstreamtv import __version__

    done = exstreamtv("version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"exstreamtv {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    done = exstreamtv("frobnicate")
    assert done.returncode == 2
    assert "frobnicate" in done.stderr


def test_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    done = exstreamtv("serve", "--data-dir", str(tmp_path), "--port", "70000")
    assert done.returncode == 2
    assert "--port" in done.stderr


def test_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ai_agent:\n  metadata_self_resolution_enabeld: true\n")
    done = exstreamtv("config", "show", "--config", str(config))
    assert done.returncode == 2
    assert "ai_agent.metadata_self_resolution_enabeld: unknown key" in done.stderr


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "llm:\n  api_key: sk-live-abcdef\nserver:\n  access_token: tok-123456\n"
        "database:\n  url: postgresql+asyncpg://app:pa55word@db/x\n"
    )
    done = exstreamtv("config", "show", "--config", str(config))
    assert done.returncode == 0, done.stderr
    for secret in ("sk-live-abcdef", "tok-123456", "pa55word"):
        assert secret not in done.stdout + done.stderr
    assert "bounded_agent_enabled: false" in done.stdout
    assert "port: 8411" in done.stdout


def test_environment_overrides_show_in_config(tmp_path: Path) -> None:
    done = exstreamtv(
        "config", "show", "--data-dir", str(tmp_path), env={"EXSTREAMTV_SERVER__PORT": "9999"}
    )
    assert done.returncode == 0, done.stderr
    assert "port: 9999" in done.stdout


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    done = exstreamtv("db", "upgrade", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert "revision 0005src" in done.stdout
    assert (tmp_path / "data" / "exstreamtv.db").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere; see the next test")
def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    done = exstreamtv("db", "upgrade", "--data-dir", str(locked / "data"))
    assert done.returncode == 2
    assert f"data directory {locked / 'data'} is not usable: Permission denied" in done.stderr


def test_data_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = exstreamtv("db", "upgrade", "--data-dir", str(blocker / "data"))
    assert done.returncode == 2
    assert f"data directory {blocker / 'data'} is not usable" in done.stderr


def test_scan_command_scans_configured_library(tmp_path: Path, place_clip: Place) -> None:
    place_clip(tmp_path / "media" / "Show" / "Season 01" / "Show S01E01.mp4", 1.0)
    (tmp_path / "media" / "broken.mp4").write_bytes(b"\x00" * 100)
    config = tmp_path / "c.yaml"
    config.write_text(f"libraries:\n  - name: Mine\n    paths: ['{tmp_path / 'media'}']\n")
    done = exstreamtv("scan", "Mine", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    assert "Mine: completed; 2 files, 2 added" in done.stderr
    assert "1 failed" in done.stderr


def test_scan_of_unknown_library_names_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"libraries:\n  - name: Mine\n    paths: ['{tmp_path}']\n")
    done = exstreamtv("scan", "Yours", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 1
    assert "no library named 'Yours' (known: 'Mine')" in done.stderr


def test_configured_library_with_a_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("libraries:\n  - name: Gone\n    paths: ['/no/such/folder']\n")
    done = exstreamtv("scan", "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert done.returncode == 1
    assert "'/no/such/folder' does not exist" in done.stderr
