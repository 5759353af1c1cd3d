"""Planners: given a goal and what a run did so far, choose the next tool (or STOP).

The default :class:`RulePlanner` is deterministic: each goal has a fixed order of tools and
the first one not yet tried whose condition holds is chosen. ``agent/llm.py`` offers an
optional LLM planner with the same interface; the policy and the loop's limits apply to
both the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

STOP = "STOP"


class Goal(enum.StrEnum):
    """What a run is for."""

    METADATA = "metadata"  # placeholder titles, failed probes, missing episode numbers
    GUIDE = "guide"  # the XMLTV guide is stale or refused
    PLAYOUT = "playout"  # a channel's schedule needs rebuilding
    STREAM = "stream"  # a channel's stream is stuck


@dataclass(frozen=True, slots=True)
class Step:
    """A planner's answer: a tool name or :data:`STOP`, why, and how sure (0..1)."""

    action: str
    reason: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Done:
    """One executed step of the run."""

    tool: str
    ok: bool
    detail: str
    data: Mapping[str, int | float | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanState:
    """What a planner sees. ``channel`` is a channel row id or ``None``; ``facts`` are
    small measured numbers (the metadata failure ratio...)."""

    goal: Goal
    channel: int | None
    tools: Sequence[str]
    done: Sequence[Done] = ()
    facts: Mapping[str, float] = field(default_factory=dict)


class Planner(Protocol):
    async def next_step(self, state: PlanState) -> Step: ...


_PLANS: Mapping[Goal, tuple[str, ...]] = {
    Goal.METADATA: (
        "reparse_filename_metadata",
        "reprobe_media",
        "refresh_source_metadata",
        "rebuild_xmltv",
    ),
    Goal.GUIDE: ("fetch_metadata_logs", "rebuild_playout", "rebuild_xmltv"),
    Goal.PLAYOUT: ("rebuild_playout", "rebuild_xmltv"),
    Goal.STREAM: ("restart_channel",),
}
CONFIDENCE: Mapping[Goal, float] = {
    Goal.METADATA: 0.6,
    Goal.GUIDE: 0.5,
    Goal.PLAYOUT: 0.5,
    Goal.STREAM: 0.4,
}
_NEEDS_CHANNEL = frozenset({"rebuild_playout", "restart_channel"})


class RulePlanner:
    """The deterministic default planner."""

    async def next_step(self, state: PlanState) -> Step:
        tried = {d.tool for d in state.done}
        reparse = next((d for d in state.done if d.tool == "reparse_filename_metadata"), None)
        for tool in _PLANS[state.goal]:
            if tool in tried or tool not in state.tools:
                continue
            if tool in _NEEDS_CHANNEL and state.channel is None:
                continue
            if reparse is not None and reparse.ok and _skip_after_reparse(tool, reparse):
                continue
            return Step(tool, f"next step for {state.goal.value}", CONFIDENCE[state.goal])
        return Step(STOP, "nothing left to try", CONFIDENCE[state.goal])


def _skip_after_reparse(tool: str, reparse: Done) -> bool:
    """Skip probing when no checked item lacks a probe, and the media-server refresh
    when no checked item came from a server (the reparse reports both counts)."""
    if tool == "reprobe_media":
        return not reparse.data.get("unprobed", 0)
    if tool == "refresh_source_metadata":
        return not reparse.data.get("from_server", 0)
    return False
