"""The rule-based troubleshooter: patterns over recent log lines plus the current state of
the server, turned into an answer with the evidence behind it.

Pure but for nothing: log lines, a :class:`SystemState` and the question go in, a
:class:`Diagnosis` comes out. The service layer gathers the inputs (the log ring, the
supervisor, live channels, metadata health) and decides what to do with the result.

Issue types recognised in log lines (:data:`PATTERNS`): ``ffmpeg_error`` (FFmpeg or a stream
process failing, crashing or stalling), ``source_failure`` (a media source, file or server
unreachable or missing), ``tuning_failure`` (tuners busy, HDHomeRun error 805, refused
tunes, the process cap), ``metadata`` (failed probes or NFOs, placeholder titles, guide
validation refusals, metadata warnings and drift).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from exstreamtv.agent.llm import LLMPlanner
from exstreamtv.agent.redact import PromptRedactor

MAX_QUESTION_CHARS = 2000
MAX_EVIDENCE = 12
RESOLVE_AFTER_METADATA_LINES = 3  # pattern detection asks for self-resolution from here
LOOP_LAG_NOTE_SEC = 0.1  # a loop this late makes streams stutter
MAX_LLM_ANSWER = 4000
LLM_SYSTEM_PROMPT = (
    "You help the operator of a self-hosted live TV server. You are given their question "
    "and a diagnosis made by rules from the server's logs and state, with its evidence. "
    "Answer the question in a few plain sentences using only those facts; say what to check "
    "or change next. Do not invent log lines, settings or commands."
)


class Issue(enum.StrEnum):
    FFMPEG_ERROR = "ffmpeg_error"
    SOURCE_FAILURE = "source_failure"
    TUNING_FAILURE = "tuning_failure"
    METADATA = "metadata"


PATTERNS: tuple[tuple[Issue, re.Pattern[str]], ...] = (
    (
        Issue.TUNING_FAILURE,
        re.compile(
            r"tuners? (?:are |is )?(?:all )?busy|all tuners|\b805\b|no tuner|tune refused"
            r"|process cap (?:is )?reached|cannot start: the ffmpeg",
            re.IGNORECASE,
        ),
    ),
    (
        Issue.METADATA,
        re.compile(
            r"metadata|placeholder|\bnfo\b|cannot be probed|ffprobe|guide refused|xmltv"
            r"|episode number|missing_episode|missing_year",
            re.IGNORECASE,
        ),
    ),
    (
        Issue.SOURCE_FAILURE,
        re.compile(
            r"source (?:is )?unavailable|cannot be reached|unreachable|connection refused"
            r"|media file .* is missing|no such file|timed out contacting|\b(?:plex|jellyfin"
            r"|emby)\b.*(?:fail|error|unreachable)",
            re.IGNORECASE,
        ),
    ),
    (
        Issue.FFMPEG_ERROR,
        re.compile(
            r"ffmpeg|stalled|restart of channel .* denied|circuit breaker|exited with status"
            r"|error slate|crash",
            re.IGNORECASE,
        ),
    ),
)
"""Checked in order; the first match names a line's issue (tuning before metadata before
sources before FFmpeg, so "ffprobe failed" is metadata and "FFmpeg cap reached" is tuning)."""

ADVICE: dict[Issue, str] = {
    Issue.FFMPEG_ERROR: (
        "FFmpeg processes are failing. Check the FFmpeg lines below; a channel whose circuit "
        "breaker is open stops restarting for two minutes. Re-probe the media it plays."
    ),
    Issue.SOURCE_FAILURE: (
        "A media source or file cannot be read. Check that library folders are mounted and "
        "media servers reachable, then rescan the library."
    ),
    Issue.TUNING_FAILURE: (
        "Tuning is being refused (all tuners busy, HDHomeRun error 805, or the FFmpeg process "
        "cap). Raise hdhomerun.tuner_count or ffmpeg.max_processes, or stop unused streams."
    ),
    Issue.METADATA: (
        "Metadata problems: failed probes or NFOs, placeholder titles or guide refusals. "
        "See GET /api/metadata/health; fixing file names or NFOs and rescanning helps."
    ),
}

_TOPICS: tuple[tuple[Issue, re.Pattern[str]], ...] = (
    (Issue.TUNING_FAILURE, re.compile(r"tun(?:e|er|ing)|805|busy|hdhomerun|plex dvr", re.I)),
    (Issue.FFMPEG_ERROR, re.compile(r"ffmpeg|stream|buffer|freez|stutter|restart|black", re.I)),
    (Issue.SOURCE_FAILURE, re.compile(r"source|plex|jellyfin|emby|folder|file|mount|scan", re.I)),
    (Issue.METADATA, re.compile(r"metadata|epg|xmltv|placeholder|guide|title|episode", re.I)),
)
_RESOLUTION_TOPIC = re.compile(r"metadata|epg|xmltv|placeholder|guide", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LogLine:
    """A log record as the troubleshooter sees it (already redacted)."""

    level: str
    logger: str
    message: str
    channel: str | None = None
    time: str = ""


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A live channel: its number, viewers and circuit-breaker state."""

    number: str
    viewers: int
    breaker: str


@dataclass(frozen=True, slots=True)
class SystemState:
    """The server now. Ratios are 0..1; ``restart_velocity`` is restarts per minute."""

    restart_velocity: float = 0.0
    pool_pressure: float = 0.0
    ffmpeg_processes: int = 0
    channels: tuple[ChannelState, ...] = ()
    metadata_failure_ratio: float | None = None
    placeholders: int | None = None
    early_warnings: tuple[str, ...] = ()
    spikes: tuple[str, ...] = ()
    event_loop_lag: float = 0.0  # the worst timer delay of the last seconds (s)


@dataclass(frozen=True, slots=True)
class Finding:
    """An issue type seen in the log lines: how often, on which channels, and examples."""

    issue: Issue
    count: int
    channels: tuple[str, ...]
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The answer, the evidence lines behind it, and whether metadata self-resolution
    should be asked for (activation Section 2)."""

    answer: str
    evidence: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    wants_resolution: bool = False
    topics: tuple[Issue, ...] = field(default=())


def classify(message: str) -> Issue | None:
    """The issue type of one log message, or ``None`` when it matches no pattern."""
    for issue, pattern in PATTERNS:
        if pattern.search(message):
            return issue
    return None


def question_topics(question: str) -> tuple[Issue, ...]:
    """The issue types a question is about, in :class:`Issue` order."""
    return tuple(issue for issue, pattern in _TOPICS if pattern.search(question))


def asks_about_metadata(question: str) -> bool:
    """True for questions about metadata, the EPG, XMLTV, placeholders or the guide."""
    return _RESOLUTION_TOPIC.search(question) is not None


def findings(lines: Sequence[LogLine]) -> tuple[Finding, ...]:
    """Group warning-or-worse lines by issue type, most frequent first."""
    grouped: dict[Issue, list[LogLine]] = {}
    for line in lines:
        if line.level in ("DEBUG", "INFO"):
            continue
        issue = classify(line.message)
        if issue is not None:
            grouped.setdefault(issue, []).append(line)
    found = [
        Finding(
            issue,
            len(matched),
            tuple(sorted({line.channel for line in matched if line.channel})),
            tuple(_evidence(line) for line in matched[-3:]),
        )
        for issue, matched in grouped.items()
    ]
    return tuple(sorted(found, key=lambda f: (-f.count, list(Issue).index(f.issue))))


def diagnose(question: str, lines: Sequence[LogLine], state: SystemState) -> Diagnosis:
    """Answer ``question`` from the log lines and the state (see the module docstring)."""
    topics = question_topics(question)
    found = findings(lines)
    relevant = [f for f in found if not topics or f.issue in topics] or list(found)
    metadata_lines = sum(f.count for f in found if f.issue is Issue.METADATA)
    wants = (
        asks_about_metadata(question)
        or metadata_lines >= RESOLVE_AFTER_METADATA_LINES
        or bool(state.early_warnings)
    )
    parts: list[str] = []
    for finding in relevant:
        where = f" on channel(s) {', '.join(finding.channels)}" if finding.channels else ""
        parts.append(
            f"{finding.count} recent {finding.issue.value.replace('_', ' ')} line(s){where}. "
            f"{ADVICE[finding.issue]}"
        )
    parts.extend(_state_notes(state, topics))
    if not parts:
        parts.append(
            "No recent warnings or errors match a known problem, and the server looks "
            "healthy: restarts, FFmpeg pool and metadata are within limits."
        )
    evidence = [line for f in relevant for line in f.lines] + _state_evidence(state)
    return Diagnosis(
        answer=" ".join(parts),
        evidence=tuple(evidence[:MAX_EVIDENCE]),
        findings=found,
        wants_resolution=wants,
        topics=topics,
    )


def _state_notes(state: SystemState, topics: Sequence[Issue]) -> list[str]:
    notes: list[str] = []
    if state.pool_pressure >= 0.9:
        notes.append(
            f"The FFmpeg pool is {state.pool_pressure:.0%} full: new channels will be refused."
        )
    if state.restart_velocity >= 0.5:
        notes.append(f"Channels are restarting often ({state.restart_velocity:.1f} per minute).")
    if state.event_loop_lag >= LOOP_LAG_NOTE_SEC:
        notes.append(
            f"The server's event loop ran {state.event_loop_lag:.2f} s late: something blocks "
            "it (or the machine is overloaded), so streams may stutter and requests stall."
        )
    open_breakers = [c.number for c in state.channels if c.breaker != "closed"]
    if open_breakers:
        notes.append(f"Circuit breaker not closed on channel(s) {', '.join(open_breakers)}.")
    if state.early_warnings:
        notes.append(f"Metadata early warning: {', '.join(state.early_warnings)}.")
    elif Issue.METADATA in topics and state.metadata_failure_ratio is not None:
        notes.append(
            f"The metadata failure ratio is {state.metadata_failure_ratio:.2f} "
            f"({state.placeholders or 0} placeholder title(s))."
        )
    if state.spikes:
        notes.append(f"Spikes in the last minutes: {', '.join(state.spikes)}.")
    return notes


def _state_evidence(state: SystemState) -> list[str]:
    lines = [
        f"restart_velocity={state.restart_velocity:.2f}/min "
        f"pool_pressure={state.pool_pressure:.2f} ffmpeg_processes={state.ffmpeg_processes} "
        f"event_loop_lag={state.event_loop_lag:.3f}s"
    ]
    if state.channels:
        lines.append(
            "live: "
            + ", ".join(f"{c.number} ({c.viewers} viewer(s), {c.breaker})" for c in state.channels)
        )
    if state.metadata_failure_ratio is not None:
        lines.append(
            f"metadata_failure_ratio={state.metadata_failure_ratio:.2f} "
            f"placeholders={state.placeholders or 0}"
        )
    return lines


def _evidence(line: LogLine) -> str:
    text = line.message.splitlines()[0] if line.message else ""
    stamp = f"{line.time} " if line.time else ""
    return f"{stamp}{line.level} {line.logger}: {text[:300]}"


class LLMTroubleshooter:
    """Rewrites a rule-based diagnosis with the configured LLM (any OpenAI-compatible
    ``/v1/chat/completions``), through the agent's one LLM client. The prompt holds only
    :class:`~exstreamtv.agent.redact.PromptRedactor` output: the question, the answer, the
    evidence lines and the finding counts, never raw records or settings."""

    def __init__(self, llm: LLMPlanner, redactor: PromptRedactor) -> None:
        self._llm, self._redactor = llm, redactor

    def messages(self, question: str, diagnosis: Diagnosis) -> list[dict[str, str]]:
        facts = {
            "question": question,
            "diagnosis": diagnosis.answer,
            "evidence": list(diagnosis.evidence),
            "findings": [
                {"issue": f.issue.value, "count": f.count, "channels": list(f.channels)}
                for f in diagnosis.findings
            ],
        }
        body = json.dumps(self._redactor.redact(facts), ensure_ascii=False, sort_keys=True)
        return [
            {"role": "system", "content": LLM_SYSTEM_PROMPT},
            {"role": "user", "content": body},
        ]

    async def enhance(self, question: str, diagnosis: Diagnosis) -> str | None:
        """The model's answer (cut to :data:`MAX_LLM_ANSWER` characters), or ``None`` when
        it is unreachable, fails or answers nothing: the rule-based answer then stands."""
        content, _ = await self._llm.complete(self.messages(question, diagnosis))
        return content[:MAX_LLM_ANSWER] if content else None
