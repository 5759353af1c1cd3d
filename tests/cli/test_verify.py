"""``exstreamtv verify restart-path`` and ``exstreamtv verify async --scope``: the static
checks of the suite, run by the command against the installed package (here, the source
tree on the path, and a copy of it with one offending module added)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def verify(*args: str, src: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return subprocess.run(
        [sys.executable, "-m", "exstreamtv", "verify", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def with_rogue(tmp_path: Path, module: str, code: str) -> Path:
    """A copy of the package with ``module`` (a dotted name) holding ``code``."""
    copy = tmp_path / "src"
    shutil.copytree(SRC / "exstreamtv", copy / "exstreamtv",
                    ignore=shutil.ignore_patterns("__pycache__", "vendor"))  # fmt: skip
    (copy / (module.replace(".", "/") + ".py")).write_text(code, encoding="utf-8")
    return copy


def test_the_installed_package_passes() -> None:
    done = verify("restart-path")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "module(s) checked, pass" in done.stdout


def test_a_restart_outside_the_supervisor_path_fails_the_restart_path_check(
    tmp_path: Path,
) -> None:
    code = (
        "from exstreamtv.services.container import Container\n"
        "def go(container: Container) -> None:\n"
        '    container.supervisor.restart("5", "because")\n'
    )
    done = verify("restart-path", src=with_rogue(tmp_path, "exstreamtv.services.rogue", code))
    assert done.returncode == 1
    assert "exstreamtv.services.rogue:3: uses Supervisor.restart" in done.stdout
    assert "1 offence(s)" in done.stdout


def test_a_blocking_call_fails_its_scope_only(tmp_path: Path) -> None:
    code = "import time\nasync def go() -> None:\n    time.sleep(1)\n"
    src = with_rogue(tmp_path, "exstreamtv.agent.rogue", code)
    done = verify("async", "--scope", "agent", src=src)
    assert done.returncode == 1
    assert "exstreamtv.agent.rogue:3: time.sleep() blocks the event loop" in done.stdout
    assert verify("async", "--scope", "monitoring", src=src).returncode == 0


def test_an_unknown_scope_is_a_usage_error() -> None:
    done = verify("async", "--scope", "everything")
    assert done.returncode == 2
    assert "agent, metadata, monitoring, all" in done.stderr
