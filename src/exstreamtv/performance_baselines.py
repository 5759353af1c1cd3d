"""Performance baselines (hardening Section H), measured on the running server.

Two operations have a baseline, the seed plan's figures:

* ``guide_generation``: one XMLTV guide generation (load, fold, validate, render, gzip);
  baseline p95 5.0 s;
* ``agent_run``: one bounded agent run (at most three steps); baseline 30.0 s.

A figure regresses when its p95 exceeds the baseline by more than 5% (the
:data:`REGRESSION_MULTIPLIER`, 1.05). Every measurement goes to a Prometheus histogram (for
alert rules over any window: ``deploy/prometheus/exstreamtv-alerts.yml``) and into a window
of the last :data:`WINDOW` measurements kept here, from which :class:`BaselineCollector`
exports, at every scrape, the baseline, the p95 and their ratio per operation. The same
baselines are what ``bench/baselines.py`` checks before a release.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGRESSION_MULTIPLIER = 1.05
WINDOW = 200  # measurements per operation kept for the in-process p95


@dataclass(frozen=True, slots=True)
class Baseline:
    """An operation's baseline: its p95 should stay at or below ``seconds``."""

    operation: str
    seconds: float

    @property
    def limit(self) -> float:
        """The p95 above which the operation has regressed (baseline x 1.05)."""
        return self.seconds * REGRESSION_MULTIPLIER

    def buckets(self, *others: float) -> tuple[float, ...]:
        """Histogram buckets with edges at the baseline and at the limit, so that a
        ``histogram_quantile`` over them says exactly whether the p95 is past the limit."""
        return tuple(sorted({*others, self.seconds, round(self.limit, 6)}))


GUIDE_GENERATION = Baseline("guide_generation", 5.0)
AGENT_RUN = Baseline("agent_run", 30.0)
BASELINES = (GUIDE_GENERATION, AGENT_RUN)


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank (the smallest value with at least 95% of the
    values at or below it); raises ValueError for no values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


class TimedOperation:
    """A histogram of one baselined operation plus its last :data:`WINDOW` durations."""

    def __init__(self, baseline: Baseline, histogram: Histogram) -> None:
        self.baseline = baseline
        self.histogram = histogram
        self._recent: deque[float] = deque(maxlen=WINDOW)

    def observe(self, seconds: float) -> None:
        self.histogram.observe(seconds)
        self._recent.append(seconds)

    def p95(self) -> float | None:
        """p95 of the kept durations, ``None`` before the first one."""
        return p95(list(self._recent)) if self._recent else None

    @property
    def samples(self) -> int:
        return len(self._recent)


class BaselineCollector(Collector):
    """Exports each operation's baseline, recent p95 and regression ratio (p95 over the
    baseline: above 1.05 is a regression) at scrape time."""

    def __init__(self, *operations: TimedOperation) -> None:
        self._operations = operations

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families(measure=True))

    def _families(self, *, measure: bool = False) -> list[GaugeMetricFamily]:
        baseline = GaugeMetricFamily(
            "exstreamtv_performance_baseline_seconds",
            "The p95 an operation should stay at or below (hardening Section H).",
            labels=["operation"],
        )
        recent = GaugeMetricFamily(
            "exstreamtv_performance_p95_seconds",
            f"p95 of the operation's last {WINDOW} durations in this process.",
            labels=["operation"],
        )
        ratio = GaugeMetricFamily(
            "exstreamtv_performance_regression_ratio",
            f"Recent p95 over the baseline; above {REGRESSION_MULTIPLIER} is a regression.",
            labels=["operation"],
        )
        for operation in self._operations if measure else ():
            name = operation.baseline.operation
            baseline.add_metric([name], operation.baseline.seconds)
            found = operation.p95()
            if found is not None:
                recent.add_metric([name], found)
                ratio.add_metric([name], found / operation.baseline.seconds)
        return [baseline, recent, ratio]
