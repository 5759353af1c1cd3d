"""Troubleshooting: answer an operator's question from recent logs and the server's state.

:class:`TroubleshootingService` gathers the evidence (the log ring, the supervisor's restart
velocity, pool pressure and breakers, live channels, metadata health, anomaly spikes) and
asks the rule engine (``agent.troubleshooting``). The rule-based answer always works; an
optional ``enhance`` step (the configured LLM) may rewrite it, and any failure there falls
back to the rule-based answer.

Self-resolution (activation Section 2): for questions about metadata, the EPG, XMLTV,
placeholders or the guide, or when pattern detection sees metadata problems, the injected
``resolve`` callable is called with the global scope when ``resolution_enabled`` (the
``ai_agent.metadata_self_resolution_enabled`` flag). It must return at once, with the
:class:`~exstreamtv.agent.metadata_resolution.ResolutionTicket` that says whether this
question started a run, joined one already under way (both with the run id), or was
refused; the answer reports exactly that. It is never called while ``in_resolution()`` is
true (self-resolution never triggers itself through here).

Log records also feed :class:`~exstreamtv.agent.anomalies.AnomalyDetector` as they are
logged (:meth:`TroubleshootingService.observe`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from exstreamtv.agent.anomalies import AnomalyDetector
from exstreamtv.agent.metadata_resolution import ResolutionTicket
from exstreamtv.agent.troubleshooting import (
    ChannelState,
    Diagnosis,
    Finding,
    LogLine,
    SystemState,
    classify,
    diagnose,
)
from exstreamtv.clock import Clock
from exstreamtv.errors import InvalidInput
from exstreamtv.log_ring import LogEntry, LogRing
from exstreamtv.logs import SecretRedactor
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.services.metadata_health import MetadataHealthService

log = logging.getLogger(__name__)
LOG_LINES = 500  # recent records the rules look at
MAX_QUESTION_CHARS = 2000

Resolve = Callable[[int | None, str], ResolutionTicket]
Enhance = Callable[[str, Diagnosis], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class TroubleshootAnswer:
    """What ``POST /api/troubleshoot`` returns: ``mode`` is ``rules`` or ``llm``;
    ``resolution`` is what asking for self-resolution got (``None`` when not asked)."""

    answer: str
    evidence: tuple[str, ...]
    findings: tuple[Finding, ...]
    mode: str
    resolution: ResolutionTicket | None = None

    @property
    def triggered_resolution(self) -> bool:
        """True only when this question started a run or joined one under way."""
        return self.resolution is not None and self.resolution.triggered


class TroubleshootingService:
    """See the module docstring."""

    def __init__(
        self,
        ring: LogRing,
        *,
        supervisor: Supervisor,
        live: LiveChannels,
        health: MetadataHealthService,
        metrics: Metrics,
        clock: Clock,
        redactor: SecretRedactor,
        anomalies: AnomalyDetector | None = None,
        resolve: Resolve | None = None,
        in_resolution: Callable[[], bool] = lambda: False,
        enhance: Enhance | None = None,
        resolution_enabled: bool = False,
        loop_lag: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._ring = ring
        self._supervisor, self._live, self._health = supervisor, live, health
        self._metrics, self._clock, self._redactor = metrics, clock, redactor
        self.anomalies = anomalies or AnomalyDetector()
        self.resolve = resolve
        self.in_resolution = in_resolution
        self.resolution_enabled = resolution_enabled
        self.enhance = enhance
        self._loop_lag = loop_lag

    def observe(self, entry: LogEntry) -> None:
        """A log-ring listener: count recognised problems and feed anomaly detection."""
        if entry.level in ("DEBUG", "INFO"):
            return
        issue = classify(entry.message)
        if issue is None:
            return
        self._metrics.log_issues.labels(issue.value).inc()
        if self.anomalies.record(entry.channel, issue.value, self._clock.monotonic()):
            self._metrics.anomaly_spikes.labels(issue.value).inc()

    async def answer(self, question: str) -> TroubleshootAnswer:
        """Answer ``question`` (1..2000 characters after trimming; raises InvalidInput
        otherwise). Never raises for the state of the server."""
        question = question.strip()
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise InvalidInput(f"the question must be 1 to {MAX_QUESTION_CHARS} characters")
        lines = [
            LogLine(e.level, e.logger, e.message, e.channel, e.time.isoformat(timespec="seconds"))
            for e in self._ring.records(level="WARNING", limit=LOG_LINES)
        ]
        diagnosis = diagnose(question, lines, await self._state())
        ticket = self._trigger() if diagnosis.wants_resolution else None
        triggered = ticket is not None and ticket.triggered
        text, mode = diagnosis.answer, "rules"
        if self.enhance is not None:
            try:
                better = await self.enhance(question, diagnosis)
            except Exception:  # the LLM is optional: the rule-based answer stands
                log.exception("LLM troubleshooting failed; answering from the rules")
                better = None
            if better:
                text, mode = better, "llm"
        self._metrics.troubleshoot_requests.labels(mode, str(triggered).lower()).inc()
        return TroubleshootAnswer(
            answer=self._redactor.redact(text),
            evidence=tuple(self._redactor.redact(line) for line in diagnosis.evidence),
            findings=diagnosis.findings,
            mode=mode,
            resolution=ticket,
        )

    def _trigger(self) -> ResolutionTicket | None:
        """Ask for metadata self-resolution (global scope) unless it is off
        (``ai_agent.metadata_self_resolution_enabled``), not wired, or we are inside a
        resolution run; returns the ticket (``None`` when not asked)."""
        if not self.resolution_enabled or self.resolve is None or self.in_resolution():
            return None
        try:
            return self.resolve(None, "troubleshooting")
        except Exception:  # asking must never break the answer
            log.exception("asking for metadata self-resolution failed")
            return None

    async def _state(self) -> SystemState:
        supervisor = self._supervisor
        channels = tuple(
            ChannelState(key, session.viewers, supervisor.breaker_state(key).value)
            for key, session in sorted(self._live.sessions.items())
        )
        spikes = tuple(
            f"{s.issue} on channel {s.channel}" if s.channel != "-" else s.issue
            for s in self.anomalies.spikes(self._clock.monotonic())
        )
        snapshot = self._health.last
        if snapshot is None:
            try:
                snapshot = await self._health.snapshot()
            except Exception:  # health is evidence, not a precondition
                log.exception("metadata health unavailable for troubleshooting")
        report = snapshot.guide if snapshot is not None else None
        return SystemState(
            restart_velocity=supervisor.restart_velocity,
            pool_pressure=supervisor.pool_pressure,
            ffmpeg_processes=supervisor.process_count,
            channels=channels,
            metadata_failure_ratio=snapshot.ratio(None) if snapshot is not None else None,
            placeholders=report.placeholders if report is not None else None,
            early_warnings=tuple(report.warnings()) if report is not None else (),
            spikes=spikes[:10],
            event_loop_lag=self._loop_lag(),
        )
