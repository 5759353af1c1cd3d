"""Only the supervisor path spawns FFmpeg and starts, stops or restarts channels: the
syntax-tree check over the real source tree, and proof on synthetic offending modules that
the check catches each way of breaking the rule (aliases, getattr, typed receivers)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from exstreamtv.source_checks.process_boundaries import Violation, check, modules_under

SRC = Path(__file__).resolve().parents[2] / "src"


def with_module(tmp_path: Path, module: str, code: str) -> list[Violation]:
    """Violations in the real tree plus one extra module ``module`` holding ``code``."""
    path = tmp_path / (module.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return check([*modules_under(SRC), (module, path)], only=module)


def test_the_source_tree_keeps_processes_and_restarts_on_the_supervisor_path() -> None:
    violations = check(modules_under(SRC))
    assert not violations, "\n".join(map(str, violations))


OFFENCES = {
    "subprocess_run": """
        import subprocess
        def go() -> None:
            subprocess.run(["ffmpeg", "-version"], check=False)
    """,
    "aliased_asyncio_spawn": """
        from asyncio import create_subprocess_exec as launch
        async def go() -> None:
            await launch("ffmpeg")
    """,
    "module_alias": """
        import asyncio as aio
        async def go() -> None:
            await aio.create_subprocess_shell("ffmpeg -i x")
    """,
    "os_system": """
        import os
        def go() -> None:
            os.system("ffmpeg")
    """,
    "os_exec": """
        from os import execvp
        def go() -> None:
            execvp("ffmpeg", ["ffmpeg"])
    """,
    "getattr_spawn": """
        import asyncio
        async def go() -> None:
            spawn = getattr(asyncio, "create_subprocess_exec")
            await spawn("ffmpeg")
    """,
    "event_loop_spawn": """
        import asyncio
        async def go() -> None:
            await asyncio.get_running_loop().subprocess_exec(lambda: None, "ffmpeg")
    """,
    "pty_spawn": """
        import pty
        def go() -> None:
            pty.spawn(["ffmpeg"])
    """,
    "start_process_outside_supervisor": """
        from exstreamtv.ffmpeg.process import start_process
        async def go() -> None:
            await start_process(["ffmpeg"])
    """,
    "run_capture_by_module": """
        from exstreamtv.ffmpeg import process
        async def go() -> None:
            await process.run_capture(["ffmpeg"], timeout=1)
    """,
    "supervisor_restart_through_container": """
        from exstreamtv.services.container import Container
        def go(container: Container) -> None:
            container.supervisor.restart("5", "because")
    """,
    "supervisor_spawn_through_field": """
        from exstreamtv.playback.supervisor import Supervisor
        class Tool:
            def __init__(self, supervisor: Supervisor) -> None:
                self._boss = supervisor
            async def go(self) -> None:
                await self._boss.spawn("5", ["ffmpeg"], purpose="x")
    """,
    "session_stop_from_mapping": """
        from exstreamtv.playback.channels import LiveChannels
        async def go(live: LiveChannels) -> None:
            await live.sessions["5"].stop()
    """,
    "session_stop_in_loop": """
        from exstreamtv.playback.channels import LiveChannels
        async def go(live: LiveChannels) -> None:
            for session in live.sessions.values():
                await session.stop()
    """,
    "session_start_via_get": """
        from exstreamtv.services.container import Container
        def go(container: Container) -> None:
            found = container.live.sessions.get("5")
            if found is not None:
                found.start()
    """,
    "live_restart_outside_automation": """
        from exstreamtv.services.container import Container
        async def go(container: Container) -> None:
            await container.live.restart(5, "why not")
    """,
    "bound_method_passed_on": """
        from exstreamtv.services.container import Container
        def go(container: Container) -> object:
            return container.supervisor.restart
    """,
    "unknown_receiver_restart": """
        def go(thing: object) -> None:
            thing.restart("5", "x")  # type: ignore[attr-defined]
    """,
    "constructing_a_supervisor": """
        from exstreamtv.playback.supervisor import Supervisor
        def go() -> object:
            return Supervisor  # referencing is fine; constructing is not
        def build() -> object:
            return Supervisor(max_processes=1, clock=None, metrics=None, registry=None)
    """,
}


CAUGHT_AS = {
    "subprocess_run": "calls subprocess.run",
    "aliased_asyncio_spawn": "calls asyncio.create_subprocess_exec",
    "module_alias": "calls asyncio.create_subprocess_shell",
    "os_system": "calls os.system",
    "os_exec": "calls os.execvp",
    "getattr_spawn": "getattr reaches asyncio.create_subprocess_exec",
    "event_loop_spawn": "calls .subprocess_exec()",
    "pty_spawn": "calls pty.spawn",
    "start_process_outside_supervisor": "uses start_process",
    "run_capture_by_module": "uses run_capture",
    "supervisor_restart_through_container": "uses Supervisor.restart",
    "supervisor_spawn_through_field": "uses Supervisor.spawn",
    "session_stop_from_mapping": "uses ChannelSession.stop",
    "session_stop_in_loop": "uses ChannelSession.stop",
    "session_start_via_get": "uses ChannelSession.start",
    "live_restart_outside_automation": "uses LiveChannels.restart",
    "bound_method_passed_on": "uses Supervisor.restart",
    "unknown_receiver_restart": "calls .restart() on a receiver of unknown type",
    "constructing_a_supervisor": "constructs Supervisor",
}


@pytest.mark.parametrize("offence", sorted(OFFENCES))
def test_an_offending_module_is_caught(tmp_path: Path, offence: str) -> None:
    violations = with_module(tmp_path, "exstreamtv.services.rogue", OFFENCES[offence])
    assert any(CAUGHT_AS[offence] in v.what for v in violations), violations


def test_ordinary_start_stop_and_close_calls_are_not_flagged(tmp_path: Path) -> None:
    code = """
        import asyncio
        from exstreamtv.services.container import Container
        async def go(container: Container, task: asyncio.Task[None]) -> None:
            container.extender.start()
            await container.extender.stop()
            task.cancel()
            _ = container.supervisor.pool_pressure, container.live.viewer_count()
    """
    assert with_module(tmp_path, "exstreamtv.services.harmless", code) == []


def test_the_allowed_modules_may_do_what_they_are_allowed(tmp_path: Path) -> None:
    code = """
        from exstreamtv.services.container import Container
        async def go(container: Container) -> None:
            await container.live.restart(5, "agent")
    """
    assert with_module(tmp_path, "exstreamtv.services.automation", code) == []
    assert with_module(tmp_path, "exstreamtv.services.rogue", code)
