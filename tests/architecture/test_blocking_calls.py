"""No blocking call in async code: the syntax-tree check over the real source tree, and
proof on synthetic modules that it catches each kind of offence (through aliases too) and
leaves work handed to a thread alone."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exstreamtv.source_checks.blocking_calls import SCOPES, check, in_scope
from exstreamtv.source_checks.process_boundaries import modules_under

SRC = Path(__file__).resolve().parents[2] / "src"


def offences(tmp_path: Path, code: str, module: str = "exstreamtv.agent.rogue") -> list[str]:
    path = tmp_path / "rogue.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return [v.what for v in check([(module, path)])]


@pytest.mark.parametrize("scope", sorted(SCOPES))
def test_the_source_tree_has_no_blocking_call_in_async_code(scope: str) -> None:
    modules = modules_under(SRC)
    assert any(in_scope(module, scope) for module, _ in modules), f"{scope} names no module"
    violations = check(modules, scope)
    assert not violations, "\n".join(map(str, violations))


OFFENCES = {
    "sleep": ("import time\nasync def go() -> None:\n    time.sleep(1)", "time.sleep()"),
    "aliased_sleep": (
        "from time import sleep as nap\nasync def go() -> None:\n    nap(1)",
        "time.sleep()",
    ),
    "subprocess": (
        "import subprocess\nasync def go() -> None:\n    subprocess.run(['ls'])",
        "subprocess.run()",
    ),
    "requests": (
        "import requests\nasync def go() -> None:\n    requests.get('http://x')",
        "requests.get()",
    ),
    "sync_httpx": (
        "import httpx\nasync def go() -> None:\n    httpx.get('http://127.0.0.1')",
        "httpx.get()",
    ),
    "sqlite": (
        "import sqlite3\nasync def go() -> None:\n    sqlite3.connect('x.db')",
        "sqlite3.connect()",
    ),
    "open": ("async def go() -> None:\n    open('/etc/hosts').read()", "open()"),
    "path_read": (
        "from pathlib import Path\nasync def go(p: Path) -> str:\n    return p.read_text()",
        ".read_text()",
    ),
    "path_in_condition": (
        "from pathlib import Path\nasync def go(p: Path) -> bool:\n"
        "    return bool(p and p.is_file())",
        ".is_file()",
    ),
    "shutil": (
        "import shutil\nasync def go() -> None:\n    shutil.rmtree('/tmp/x')",
        "shutil.rmtree()",
    ),
    "nested_await_argument": (
        "import asyncio, os\nasync def go() -> None:\n"
        "    await asyncio.gather(asyncio.sleep(0), asyncio.to_thread(print, os.listdir('.')))",
        "os.listdir()",
    ),
}


@pytest.mark.parametrize("offence", sorted(OFFENCES))
def test_a_blocking_call_in_async_code_is_caught(tmp_path: Path, offence: str) -> None:
    code, caught = OFFENCES[offence]
    found = offences(tmp_path, code)
    assert any(what.startswith(caught) for what in found), found


def test_work_handed_to_a_thread_or_sync_code_is_not_flagged(tmp_path: Path) -> None:
    code = """
        import asyncio, time
        from pathlib import Path

        def helper(p: Path) -> str:
            time.sleep(0)
            return p.read_text()

        async def go(p: Path) -> str:
            await asyncio.sleep(0)
            flag = await asyncio.to_thread(p.is_file)
            text = await asyncio.to_thread(lambda: p.read_text())

            def inner() -> bytes:
                return p.read_bytes()

            return text + str(flag) + str(await asyncio.to_thread(inner)) + helper(p)
    """
    assert offences(tmp_path, code) == []


def test_scopes_select_their_modules() -> None:
    assert in_scope("exstreamtv.agent.loop", "agent")
    assert in_scope("exstreamtv.sources.plex", "metadata")
    assert in_scope("exstreamtv.metrics", "monitoring")
    assert not in_scope("exstreamtv.playback.session", "agent")
    assert not in_scope("exstreamtv.agentsmith", "agent")
    assert in_scope("exstreamtv.playback.session", "all")
