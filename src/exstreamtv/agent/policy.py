"""What the agent may do with a tool: allow, deny, or hold for a person's approval.

* HIGH-risk tools (``restart_channel``) always need an approval.
* Metadata tools need a confidence of at least :data:`MIN_METADATA_CONFIDENCE` (0.3), unless
  ``ai_agent.force_metadata_resolution`` is set.
* A second HIGH-risk tool in one run, or the same tool twice in one run, is denied (the
  loop asks; see ``agent/loop.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from exstreamtv.agent.tools import Risk, Tool
from exstreamtv.config import AIAgentConfig

MIN_METADATA_CONFIDENCE = 0.3


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str


@dataclass(frozen=True, slots=True)
class RunSoFar:
    """What a run has already done, for the per-run limits."""

    used: frozenset[str] = frozenset()
    high_risk_used: int = 0


class Policy:
    """Decides each planned tool call; pure apart from reading the injected flags."""

    def __init__(self, flags: AIAgentConfig) -> None:
        self._flags = flags

    def decide(
        self, tool: Tool, confidence: float, so_far: RunSoFar, *, approved: bool = False
    ) -> Decision:
        """The decision for running ``tool`` at ``confidence`` (0..1) in a run that has
        done ``so_far``; ``approved`` is true when a person approved this very call."""
        if tool.name in so_far.used:
            return Decision(Verdict.DENY, f"{tool.name} already ran in this run")
        if tool.risk is Risk.HIGH and so_far.high_risk_used >= 1:
            return Decision(Verdict.DENY, "at most one high-risk tool per run")
        if (
            tool.is_metadata
            and confidence < MIN_METADATA_CONFIDENCE
            and not self._flags.force_metadata_resolution
        ):
            return Decision(
                Verdict.DENY,
                f"confidence {confidence:.2f} is below {MIN_METADATA_CONFIDENCE} "
                "for a metadata tool",
            )
        if tool.risk is Risk.HIGH and not approved:
            return Decision(Verdict.REQUIRE_APPROVAL, f"{tool.name} is high-risk")
        return Decision(Verdict.ALLOW, "allowed")
