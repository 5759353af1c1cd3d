"""The install files work: the systemd unit passes ``systemd-analyze verify`` (pointed at
this install's command), and the lock files pin every package the project depends on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXE = Path(sys.executable).with_name("exstreamtv")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "deploy" / "exstreamtv.service").read_text()
    assert "/opt/exstreamtv/bin/exstreamtv" in unit
    target = tmp_path / "exstreamtv.service"
    target.write_text(unit.replace("/opt/exstreamtv/bin/exstreamtv", str(EXE)))
    result = subprocess.run(
        [analyze, "verify", str(target)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "exstreamtv.service" not in result.stderr, result.stderr


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_the_lock_files_pin_every_installed_dependency(lock: str) -> None:
    from importlib.metadata import requires

    pins = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / lock).read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    extras = {"requirements.lock": {"postgresql"}, "requirements-test.lock": {"postgresql", "test"}}
    wanted = set()
    for spec in requires("exstreamtv") or []:
        name, _, marker = spec.partition(";")
        extra = marker.split("extra ==")[-1].strip(" '\"") if "extra ==" in marker else None
        if extra is None or extra in extras[lock]:
            bare = name.split("[")[0].split(">")[0].split("<")[0].split("=")[0].split("~")[0]
            wanted.add(bare.strip().lower().replace("_", "-"))
    assert wanted <= pins, sorted(wanted - pins)
