"""The troubleshooting service on a real container: log records feed anomaly detection as
they are logged, the answer reads the supervisor and live channels, and the log ring lives
exactly as long as its container."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exstreamtv.agent.troubleshooting import Diagnosis
from exstreamtv.logs import SecretRedactor
from exstreamtv.services.container import Container, open_container
from tests.agent.fake_llm import serving_llm
from tests.support import build_settings

log = logging.getLogger("exstreamtv.playback.session")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Container]:
    settings = build_settings(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    async with open_container(settings) as container:
        yield container


def sample(container: Container, name: str, **labels: str) -> float:
    return container.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_five_stalls_of_one_channel_in_the_window_are_one_spike(app: Container) -> None:
    for _ in range(7):
        log.warning("channel 4 stalled: stopping its FFmpeg", extra={"channel": "4"})
    log.warning("channel 5 stalled: stopping its FFmpeg", extra={"channel": "5"})

    assert sample(app, "exstreamtv_log_issues_total", issue="ffmpeg_error") == 8
    assert sample(app, "exstreamtv_anomaly_spikes_total", issue="ffmpeg_error") == 1
    answer = await app.troubleshooting.answer("what is going on?")
    assert "ffmpeg_error on channel 4" in answer.answer
    assert "channel 5" not in answer.answer.split("Spikes")[-1]


async def test_info_lines_and_unrecognised_warnings_are_not_issues(app: Container) -> None:
    logging.getLogger("exstreamtv").setLevel(logging.INFO)
    try:
        log.info("channel 4 stalled at info level")
        log.warning("a warning about nothing in particular")
    finally:
        logging.getLogger("exstreamtv").setLevel(logging.NOTSET)
    assert sample(app, "exstreamtv_log_issues_total", issue="ffmpeg_error") == 0


async def test_the_answer_reports_the_supervisors_live_state(app: Container) -> None:
    for _ in range(3):
        app.supervisor.restart("9", "crash")
        app.clock.monotonic()
    answer = await app.troubleshooting.answer("why do restarts happen")
    assert any("restart_velocity=1.00/min" in line for line in answer.evidence)
    assert any("metadata_failure_ratio=0.00" in line for line in answer.evidence)


async def test_a_failing_or_empty_enhancement_keeps_the_rule_based_answer(
    app: Container,
) -> None:
    async def broken(question: str, diagnosis: Diagnosis) -> str | None:
        raise RuntimeError("model offline")

    app.troubleshooting.enhance = broken
    answer = await app.troubleshooting.answer("is it healthy?")
    assert answer.mode == "rules" and "healthy" in answer.answer

    async def better(question: str, diagnosis: Diagnosis) -> str | None:
        return f"In short: {diagnosis.answer}"

    app.troubleshooting.enhance = better
    enhanced = await app.troubleshooting.answer("is it healthy?")
    assert enhanced.mode == "llm" and enhanced.answer.startswith("In short:")


async def test_the_log_ring_is_attached_only_while_the_container_is_open(
    tmp_path: Path,
) -> None:
    settings = build_settings(tmp_path / "d", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with open_container(settings) as container:
        assert container.log_ring in logging.getLogger().handlers
    assert container.log_ring not in logging.getLogger().handlers


def test_redacting_a_megabyte_log_line_takes_milliseconds_not_minutes() -> None:
    redactor = SecretRedactor()
    redactor.register(["sk-secret-value"])
    started = time.process_time()
    for line in ("z" * 1_000_000, "a" * 500_000 + "://" + "b" * 500_000, "token=" * 100_000):
        redactor.redact(line)
    assert time.process_time() - started < 2.0


async def test_with_an_llm_configured_the_answer_is_enhanced_from_redacted_facts(
    tmp_path: Path,
) -> None:
    secret = "sk-llm-key-0123456789"
    async with serving_llm() as fake:
        fake.answers += ["Channel 4's file is gone; rescan the library.", 500]
        settings = build_settings(
            tmp_path / "d", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            llm={"base_url": fake.url, "api_key": secret, "timeout_sec": 5},
        )  # fmt: skip
        async with open_container(settings) as container:
            log.error(
                "channel 4: media file %s/Movies/x.mkv is missing (token=%s)",
                Path.home(), secret, extra={"channel": "4"},
            )  # fmt: skip
            first = await container.troubleshooting.answer(f"why is channel 4 dark? {secret}")
            second = await container.troubleshooting.answer("and now?")

    assert (first.mode, first.answer) == ("llm", "Channel 4's file is gone; rescan the library.")
    assert second.mode == "rules" and "source failure" in second.answer  # HTTP 500: the rules
    sent = b"".join(fake.bodies).decode()
    assert fake.paths[0] == "/v1/chat/completions"
    assert "media file" in sent
    assert secret not in sent
    assert str(Path.home()) not in sent
