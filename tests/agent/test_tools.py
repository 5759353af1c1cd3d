"""The tool registry: the allow-list, typed arguments, cooldowns by kind, no nesting."""

from __future__ import annotations

from pathlib import Path

import pytest

from exstreamtv.agent.planner import Goal
from exstreamtv.agent.tools import MAX_COOLDOWN_KEYS, ItemsArgs, Risk, Tool, ToolKind, ToolResult
from exstreamtv.errors import InvalidInput, NotFound, ToolRefused
from tests.agent.harness import FakeTool, ScriptedPlanner, make_harness


def test_only_allow_listed_names_can_be_registered(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    rogue = FakeTool("delete_library", ToolKind.METADATA).tool()
    with pytest.raises(InvalidInput, match="allow-list"):
        h.agent.registry.register(rogue)
    with pytest.raises(NotFound):
        h.agent.registry.get("delete_library")


@pytest.mark.parametrize(
    "raw",
    [
        {"channel": 0},
        {"channel": -1},
        {"channel": 2**40},
        {"channel": "1; DROP TABLE"},
        {"limit": 10**9},
        {"path": "/etc/passwd"},
    ],
)
def test_hostile_arguments_are_refused_without_echoing_them(
    tmp_path: Path, raw: dict[str, object]
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    tool = h.agent.registry.get("reparse_filename_metadata")
    with pytest.raises(InvalidInput) as caught:
        h.agent.registry.parse(tool, raw)
    assert "DROP" not in caught.value.message
    assert "passwd" not in caught.value.message


@pytest.mark.parametrize(
    ("name", "cooldown"),
    [
        ("fetch_metadata_logs", 5.0),
        ("rebuild_xmltv", 5.0),
        ("reparse_filename_metadata", 30.0),
        ("reprobe_media", 30.0),
        ("refresh_source_metadata", 30.0),
        ("rebuild_playout", 120.0),
        ("restart_channel", 120.0),
    ],
)
async def test_a_tool_is_refused_until_its_cooldown_has_passed(
    tmp_path: Path, name: str, cooldown: float
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    registry = h.agent.registry
    tool = registry.get(name)
    args = registry.parse(tool, {"channel": 2} if "channel" in tool.args.model_fields else {})
    await registry.invoke(tool, args)
    h.clock.advance(cooldown - 0.5)
    with pytest.raises(ToolRefused, match="cooling down"):
        await registry.invoke(tool, args)
    h.clock.advance(0.5)
    await registry.invoke(tool, args)
    assert len(h.tools[name].calls) == 2


async def test_a_cooldown_refusal_in_a_run_is_a_recorded_failure(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("rebuild_playout", 1.0)]))
    await h.agent.run(Goal.PLAYOUT, 1)
    h.clock.advance(60)
    h.agent._planner = ScriptedPlanner([("rebuild_playout", 1.0)])
    run = await h.agent.run(Goal.PLAYOUT, 1)
    assert run.steps[0].result == "refused"
    assert len(h.tools["rebuild_playout"].calls) == 1
    h.agent._planner = ScriptedPlanner([("rebuild_playout", 1.0)])
    await h.agent.run(Goal.PLAYOUT, 2)  # another channel has its own cooldown
    assert len(h.tools["rebuild_playout"].calls) == 2
    assert h.sample("exstreamtv_agent_tool_calls_total", tool="rebuild_playout",
                    result="refused") == 1  # fmt: skip


async def test_a_tool_cannot_call_another_tool(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    registry = h.agent.registry
    inner = registry.get("fetch_metadata_logs")
    refusals: list[str] = []

    async def nesting(_args: object) -> ToolResult:
        try:
            await registry.invoke(inner, registry.parse(inner, {}))
        except ToolRefused as err:
            refusals.append(err.message)
        return ToolResult(True, "tried")

    registry.register(Tool("rebuild_xmltv", "", ItemsArgs, Risk.LOW, ToolKind.DIAGNOSTIC, nesting))
    await registry.invoke(registry.get("rebuild_xmltv"), ItemsArgs())
    assert refusals == ["fetch_metadata_logs cannot be called from inside rebuild_xmltv"]
    assert h.tools["fetch_metadata_logs"].calls == []


async def test_the_cooldown_memory_is_bounded(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    registry = h.agent.registry
    tool = registry.get("rebuild_playout")
    for channel in range(1, MAX_COOLDOWN_KEYS + 500):
        await registry.invoke(tool, registry.parse(tool, {"channel": channel}))
    assert len(registry._last) == MAX_COOLDOWN_KEYS


async def test_a_tool_that_hangs_is_cancelled_and_recorded_as_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from exstreamtv.agent import tools

    monkeypatch.setattr(tools, "TOOL_TIMEOUT_SEC", 0.01)
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 1.0)]))
    cancelled = asyncio.Event()

    async def hang(_args: object) -> ToolResult:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return ToolResult(True, "never")

    h.agent.registry.register(
        Tool("fetch_metadata_logs", "", ItemsArgs, Risk.LOW, ToolKind.DIAGNOSTIC, hang)
    )
    run = await h.agent.run(Goal.METADATA)
    assert run.steps[0].result == "error"
    assert cancelled.is_set()
