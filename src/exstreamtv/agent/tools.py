"""The allow-listed tools of the bounded agent.

A :class:`Tool` has a name from :data:`ALLOWED_TOOLS`, a typed (pydantic) argument model, a
risk class, a kind that fixes its cooldown, and an implementation: an injected async
callable, so this layer imports no services (``services/automation.py`` provides the real
ones). The :class:`ToolRegistry` refuses any other name, validates arguments before a tool
runs, enforces per-tool cooldowns on the monotonic clock, and refuses a tool invoked from
inside another tool (no tool calls another tool).

Cooldowns (seconds): diagnostics 5, metadata tools 30, ``rebuild_playout`` 120,
``restart_channel`` 120 (the supervisor applies its own 30 s per-channel cooldown on top). A
cooldown is kept per tool and target (channel id, or the whole library for ``None``); the map
holds at most :data:`MAX_COOLDOWN_KEYS` entries and drops expired ones first.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exstreamtv.clock import Clock
from exstreamtv.errors import InvalidInput, NotFound, ToolRefused


class Risk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ToolKind(enum.StrEnum):
    """What a tool touches; it fixes the cooldown and the confidence gating."""

    DIAGNOSTIC = "diagnostic"
    METADATA = "metadata"
    PLAYOUT = "playout"
    STREAM = "stream"


COOLDOWN_SEC: Mapping[ToolKind, float] = {
    ToolKind.DIAGNOSTIC: 5.0,
    ToolKind.METADATA: 30.0,
    ToolKind.PLAYOUT: 120.0,
    ToolKind.STREAM: 120.0,
}
ALLOWED_TOOLS = frozenset(
    {
        "reparse_filename_metadata",
        "reprobe_media",
        "refresh_source_metadata",
        "rebuild_xmltv",
        "fetch_metadata_logs",
        "rebuild_playout",
        "restart_channel",
    }
)
MAX_COOLDOWN_KEYS = 1024
TOOL_TIMEOUT_SEC = 300.0
_in_tool: contextvars.ContextVar[str | None] = contextvars.ContextVar("in_tool", default=None)


class ToolArgs(BaseModel):
    """Base of every argument model: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemsArgs(ToolArgs):
    """Items of one channel's playout (``channel`` = its row id) or of every library."""

    channel: int | None = Field(default=None, ge=1, le=2**31 - 1)
    limit: int = Field(default=100, ge=1, le=1000, description="Items handled at most.")


class GuideArgs(ToolArgs):
    """``rebuild_xmltv`` takes no arguments."""


class LogsArgs(ToolArgs):
    channel: int | None = Field(default=None, ge=1, le=2**31 - 1)
    limit: int = Field(default=20, ge=1, le=200)


class ChannelArgs(ToolArgs):
    """One channel, by row id."""

    channel: int = Field(ge=1, le=2**31 - 1)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool did. ``ok`` false is a failure (the loop decays its confidence);
    ``data`` holds small numbers and labels only (it may reach an LLM after redaction)."""

    ok: bool
    detail: str
    data: Mapping[str, int | float | str] = field(default_factory=dict)


ToolRun = Callable[[Any], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    args: type[ToolArgs]
    risk: Risk
    kind: ToolKind
    run: ToolRun

    @property
    def cooldown_sec(self) -> float:
        return COOLDOWN_SEC[self.kind]

    @property
    def is_metadata(self) -> bool:
        return self.kind is ToolKind.METADATA


def target_of(args: ToolArgs) -> int | None:
    """The channel a call targets, or ``None`` for the whole library."""
    channel = getattr(args, "channel", None)
    return channel if isinstance(channel, int) else None


class ToolRegistry:
    """The allow-list: only registered tools with allowed names can run."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._tools: dict[str, Tool] = {}
        self._last: OrderedDict[tuple[str, int | None], float] = OrderedDict()

    def register(self, tool: Tool) -> None:
        """Add a tool; raises InvalidInput for a name outside :data:`ALLOWED_TOOLS`."""
        if tool.name not in ALLOWED_TOOLS:
            raise InvalidInput(f"tool {tool.name!r} is not on the allow-list")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        """The tool called ``name``; raises NotFound for anything not registered."""
        found = self._tools.get(name)
        if found is None:
            raise NotFound(f"no tool named {name[:60]!r}")
        return found

    @property
    def tools(self) -> list[Tool]:
        return sorted(self._tools.values(), key=lambda t: t.name)

    def parse(self, tool: Tool, raw: Mapping[str, Any]) -> ToolArgs:
        """Validate raw arguments; raises InvalidInput naming the bad fields (no values)."""
        try:
            return tool.args.model_validate(dict(raw))
        except ValidationError as err:
            fields = ", ".join(".".join(map(str, e["loc"])) or "args" for e in err.errors())
            raise InvalidInput(f"invalid arguments for {tool.name}: {fields}") from None

    def cooldown_left(self, tool: Tool, args: ToolArgs) -> float:
        """Seconds until ``tool`` may run again on the same target (0 when it may now)."""
        last = self._last.get((tool.name, target_of(args)))
        if last is None:
            return 0.0
        return max(0.0, tool.cooldown_sec - (self._clock.monotonic() - last))

    async def invoke(self, tool: Tool, args: ToolArgs) -> ToolResult:
        """Run ``tool`` now, starting its cooldown.

        Raises :class:`ToolRefused` while its cooldown runs, or when called from inside
        another tool's implementation; ``TimeoutError`` after :data:`TOOL_TIMEOUT_SEC`
        seconds (the tool is cancelled). Exceptions of the implementation propagate.
        """
        inside = _in_tool.get()
        if inside is not None:
            raise ToolRefused(f"{tool.name} cannot be called from inside {inside}")
        left = self.cooldown_left(tool, args)
        if left > 0:
            raise ToolRefused(f"{tool.name} is cooling down for {left:.0f} s more")
        self._remember((tool.name, target_of(args)))
        token = _in_tool.set(tool.name)
        try:
            async with asyncio.timeout(TOOL_TIMEOUT_SEC):
                return await tool.run(args)
        finally:
            _in_tool.reset(token)

    def _remember(self, key: tuple[str, int | None]) -> None:
        now = self._clock.monotonic()
        self._last[key] = now
        self._last.move_to_end(key)
        longest = max(COOLDOWN_SEC.values())
        while self._last and (
            len(self._last) > MAX_COOLDOWN_KEYS or now - next(iter(self._last.values())) > longest
        ):
            self._last.popitem(last=False)
