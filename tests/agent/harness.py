"""A bounded agent on the real supervisor and containment, with tools whose implementations
are recorded fakes (the seam the services layer fills with real ones)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from exstreamtv.agent.containment import Containment
from exstreamtv.agent.loop import AgentLoop
from exstreamtv.agent.planner import STOP, PlanState, Step
from exstreamtv.agent.tools import (
    ChannelArgs,
    ItemsArgs,
    LogsArgs,
    Risk,
    Tool,
    ToolArgs,
    ToolKind,
    ToolRegistry,
    ToolResult,
)
from exstreamtv.config import AIAgentConfig
from exstreamtv.metrics import Metrics
from exstreamtv.playback.supervisor import Supervisor


class StepClock:
    """Monotonic seconds and UTC wall time that move only when told."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class FakeTool:
    """Records each call; answers ``results`` in turn (the last one repeats)."""

    name: str
    kind: ToolKind
    risk: Risk = Risk.LOW
    results: list[bool] = field(default_factory=lambda: [True])
    calls: list[ToolArgs] = field(default_factory=list)

    async def run(self, args: ToolArgs) -> ToolResult:
        self.calls.append(args)
        ok = self.results[min(len(self.calls), len(self.results)) - 1]
        return ToolResult(ok, "done" if ok else "could not fix anything", {"checked": 1})

    def tool(self) -> Tool:
        args: type[ToolArgs] = {
            ToolKind.METADATA: ItemsArgs,
            ToolKind.DIAGNOSTIC: LogsArgs,
        }.get(self.kind, ChannelArgs)
        return Tool(self.name, self.name, args, self.risk, self.kind, self.run)


def standard_tools() -> dict[str, FakeTool]:
    """Fakes for the seven allow-listed tools, with their real risks and kinds."""
    return {
        t.name: t
        for t in (
            FakeTool("fetch_metadata_logs", ToolKind.DIAGNOSTIC),
            FakeTool("reparse_filename_metadata", ToolKind.METADATA),
            FakeTool("reprobe_media", ToolKind.METADATA),
            FakeTool("refresh_source_metadata", ToolKind.METADATA),
            FakeTool("rebuild_xmltv", ToolKind.DIAGNOSTIC),
            FakeTool("rebuild_playout", ToolKind.PLAYOUT, Risk.MEDIUM),
            FakeTool("restart_channel", ToolKind.STREAM, Risk.HIGH),
        )
    }


class ScriptedPlanner:
    """Answers the given steps in order, then STOP; remembers what it was shown."""

    def __init__(self, steps: Sequence[tuple[str, float]] = ()) -> None:
        self.steps = list(steps)
        self.seen: list[PlanState] = []

    async def next_step(self, state: PlanState) -> Step:
        self.seen.append(state)
        if not self.steps:
            return Step(STOP, "done", 1.0)
        action, confidence = self.steps.pop(0)
        return Step(action, "scripted", confidence)


@dataclass
class Harness:
    clock: StepClock
    metrics: Metrics
    supervisor: Supervisor
    containment: Containment
    tools: dict[str, FakeTool]
    agent: AgentLoop

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


async def channel_key(channel: int) -> str | None:
    """Channel row id n is channel number n."""
    return str(channel)


def make_harness(
    tmp_path: Path,
    planner: Any,
    *,
    max_processes: int = 8,
    tools: dict[str, FakeTool] | None = None,
    **flags: Any,
) -> Harness:
    """An agent with the given flags (``bounded_agent_enabled`` on unless said otherwise)."""
    clock, metrics = StepClock(), Metrics()
    supervisor = Supervisor(
        max_processes=max_processes, clock=clock, metrics=metrics,
        registry=tmp_path / "ffmpeg.pids",
    )  # fmt: skip
    containment = Containment(supervisor, clock, metrics)
    tools = tools or standard_tools()
    registry = ToolRegistry(clock)
    for fake in tools.values():
        registry.register(fake.tool())
    config = AIAgentConfig(**{"bounded_agent_enabled": True, **flags})
    agent = AgentLoop(
        config, registry, planner, containment,
        clock=clock, metrics=metrics, channel_key=channel_key,
    )  # fmt: skip
    return Harness(clock, metrics, supervisor, containment, tools, agent)
