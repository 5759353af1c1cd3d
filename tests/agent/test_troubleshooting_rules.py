"""The rule-based troubleshooter: log patterns, state notes, evidence and the
self-resolution decision of activation Section 2."""

from __future__ import annotations

import pytest

from exstreamtv.agent.troubleshooting import (
    MAX_EVIDENCE,
    ChannelState,
    Issue,
    LogLine,
    SystemState,
    classify,
    diagnose,
)


def warn(message: str, channel: str | None = None) -> LogLine:
    return LogLine("WARNING", "exstreamtv.test", message, channel)


@pytest.mark.parametrize(
    ("message", "issue"),
    [
        ("all tuners are busy (HDHomeRun error 805)", Issue.TUNING_FAILURE),
        ("channel 5 cannot start: the FFmpeg process cap is reached", Issue.TUNING_FAILURE),
        ("movie.mkv cannot be probed: ffprobe: Invalid data", Issue.METADATA),
        ("guide refused: programme has a placeholder title", Issue.METADATA),
        ("metadata early warning for global: failure_ratio", Issue.METADATA),
        ("media source unavailable: connection refused", Issue.SOURCE_FAILURE),
        ("channel 4: media file /m/x.mkv is missing", Issue.SOURCE_FAILURE),
        ("channel 3 stalled: stopping its FFmpeg", Issue.FFMPEG_ERROR),
        ("restart of channel 3 denied: circuit breaker open", Issue.FFMPEG_ERROR),
        ("EXStreamTV listening on http://127.0.0.1:8411", None),
    ],
)
def test_log_lines_are_classified_by_issue_type(message: str, issue: Issue | None) -> None:
    assert classify(message) is issue


def test_the_answer_names_the_issue_the_channels_and_gives_evidence_lines() -> None:
    lines = [warn("channel 3 stalled: stopping its FFmpeg", "3") for _ in range(4)]
    lines.append(LogLine("INFO", "x", "channel 9 stalled: ignored at info level", "9"))
    diagnosis = diagnose("why does channel 3 keep buffering?", lines, SystemState())
    assert "4 recent ffmpeg error line(s) on channel(s) 3" in diagnosis.answer
    assert any("stalled" in line for line in diagnosis.evidence)
    assert diagnosis.findings[0].channels == ("3",)
    assert not diagnosis.wants_resolution


def test_a_question_about_the_guide_asks_for_self_resolution() -> None:
    for question in ("Why is the EPG empty?", "xmltv titles", "placeholder?", "GUIDE broken"):
        assert diagnose(question, [], SystemState()).wants_resolution


def test_repeated_metadata_lines_ask_for_self_resolution_whatever_the_question() -> None:
    two = [warn("x.mkv cannot be probed: ffprobe failed")] * 2
    assert not diagnose("streams stutter", two, SystemState()).wants_resolution
    three = [*two, warn("y.mkv cannot be probed: ffprobe failed")]
    assert diagnose("streams stutter", three, SystemState()).wants_resolution


def test_an_active_early_warning_asks_for_self_resolution() -> None:
    state = SystemState(early_warnings=("placeholders",))
    diagnosis = diagnose("anything odd?", [], state)
    assert diagnosis.wants_resolution
    assert "Metadata early warning: placeholders" in diagnosis.answer


def test_state_notes_cover_pool_pressure_restarts_and_open_breakers() -> None:
    state = SystemState(
        restart_velocity=3.0,
        pool_pressure=0.95,
        ffmpeg_processes=19,
        channels=(ChannelState("7", 2, "open"), ChannelState("8", 1, "closed")),
    )
    diagnosis = diagnose("tuning fails", [], state)
    assert "95% full" in diagnosis.answer
    assert "3.0 per minute" in diagnosis.answer
    assert "channel(s) 7" in diagnosis.answer
    assert any("pool_pressure=0.95" in line for line in diagnosis.evidence)


def test_a_quiet_server_gets_a_healthy_answer() -> None:
    diagnosis = diagnose("is everything fine?", [], SystemState())
    assert "healthy" in diagnosis.answer
    assert diagnosis.findings == ()


def test_evidence_is_bounded_however_many_lines_match() -> None:
    lines = [warn(f"channel {n} stalled: FFmpeg", str(n)) for n in range(1000)]
    lines += [warn("all tuners busy 805")] * 1000
    diagnosis = diagnose("everything", lines, SystemState(metadata_failure_ratio=0.1))
    assert len(diagnosis.evidence) <= MAX_EVIDENCE
    assert all(len(line) < 400 for line in diagnosis.evidence)
