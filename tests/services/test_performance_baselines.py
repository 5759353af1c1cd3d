"""Section H on the running server: guide generations and agent runs are timed into
histograms, and /metrics compares their recent p95 with the baselines (guide 5.0 s, agent
run 30 s) as a regression ratio; the window behind the p95 is bounded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram

from exstreamtv.agent.planner import Goal
from exstreamtv.metrics import Metrics
from exstreamtv.performance_baselines import (
    AGENT_RUN,
    GUIDE_GENERATION,
    WINDOW,
    BaselineCollector,
    TimedOperation,
    p95,
)
from exstreamtv.services.container import open_container
from exstreamtv.services.guide import GuideLinks
from tests.lineups import movie, on_air
from tests.support import build_settings


def gauges(text: str, name: str) -> dict[str, float]:
    """``{operation: value}`` of one gauge family in an exposition."""
    pattern = rf'^{name}{{operation="([a-z_]+)"}} (\S+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text, re.MULTILINE)}


async def test_a_running_server_times_guides_and_agent_runs_against_the_baselines(
    tmp_path: Path,
) -> None:
    settings = build_settings(
        tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        ai_agent={"bounded_agent_enabled": True},
    )  # fmt: skip
    async with open_container(settings) as app:
        before = app.metrics.render().decode()
        assert gauges(before, "exstreamtv_performance_baseline_seconds") == {
            "guide_generation": 5.0,
            "agent_run": 30.0,
        }
        assert gauges(before, "exstreamtv_performance_p95_seconds") == {}  # nothing measured

        await on_air(app, "3", [movie("Film", year=2001)])
        document = await app.guide.xmltv(GuideLinks("http://tv.test"))
        async for _chunk in document.gzip_stream():
            pass
        one_guide = gauges(app.metrics.render().decode(), "exstreamtv_performance_p95_seconds")
        guide_sum = app.metrics.registry.get_sample_value("exstreamtv_guide_generation_seconds_sum")
        assert one_guide == {"guide_generation": pytest.approx(guide_sum)}
        await app.automation.agent.run(Goal.GUIDE, None)  # rebuild_xmltv: a second guide

        text = app.metrics.render().decode()
        measured = gauges(text, "exstreamtv_performance_p95_seconds")
        ratios = gauges(text, "exstreamtv_performance_regression_ratio")
        assert set(measured) == {"guide_generation", "agent_run"}
        for operation, baseline in (("guide_generation", 5.0), ("agent_run", 30.0)):
            assert ratios[operation] == pytest.approx(measured[operation] / baseline)
        assert (
            app.metrics.registry.get_sample_value("exstreamtv_guide_generation_seconds_count") == 2
        )
        assert app.metrics.registry.get_sample_value("exstreamtv_agent_run_seconds_count") == 1


def operation(name: str = "guide_generation") -> tuple[TimedOperation, CollectorRegistry]:
    registry = CollectorRegistry()
    timed = TimedOperation(
        GUIDE_GENERATION,
        Histogram(name, "t", buckets=GUIDE_GENERATION.buckets(), registry=registry),
    )
    registry.register(BaselineCollector(timed))
    return timed, registry


def test_the_ratio_passes_the_limit_when_more_than_5_percent_are_slow() -> None:
    timed, registry = operation()
    for _ in range(95):
        timed.observe(1.0)
    for _ in range(5):
        timed.observe(9.0)  # 5% slow: the p95 is still a fast one
    ratio = registry.get_sample_value("exstreamtv_performance_regression_ratio",
                                      {"operation": "guide_generation"})  # fmt: skip
    assert ratio == pytest.approx(0.2)
    timed.observe(9.0)  # now more than 5% are slow
    ratio = registry.get_sample_value("exstreamtv_performance_regression_ratio",
                                      {"operation": "guide_generation"})  # fmt: skip
    assert ratio is not None and ratio > GUIDE_GENERATION.limit / GUIDE_GENERATION.seconds
    assert ratio == pytest.approx(9.0 / 5.0)


def test_the_recent_window_is_bounded_and_forgets_old_durations() -> None:
    timed, _ = operation()
    for _ in range(WINDOW):
        timed.observe(60.0)
    for _ in range(WINDOW):
        timed.observe(0.5)
    assert timed.samples == WINDOW
    assert timed.p95() == 0.5


def test_p95_is_the_nearest_rank() -> None:
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([3.0]) == 3.0
    with pytest.raises(ValueError, match="no values"):
        p95([])


def test_the_histograms_have_edges_at_each_baseline_and_its_limit() -> None:
    text = Metrics().render().decode()
    for family, baseline in (
        ("exstreamtv_guide_generation_seconds", GUIDE_GENERATION),
        ("exstreamtv_agent_run_seconds", AGENT_RUN),
    ):
        edges = {float(e) for e in re.findall(rf'^{family}_bucket{{le="([0-9.]+)"}}', text, re.M)}
        assert {baseline.seconds, baseline.limit} <= edges
