"""Performance baselines (hardening Section H): guide generation p95 and a 3-step agent run.

Seeds the guide benchmark's library and channels (``bench/guide.py``: 50 shows of 22-minute
episodes, every channel built by the real engine), then measures on the real services:

* **guide generation p95**: uncached XMLTV generation (load, fold, validate, render, gzip)
  by ``GuideService``, ``--samples`` times; baseline 5.0 s;
* **a 3-step agent run**: the bounded agent on the ``guide`` goal of one channel
  (``fetch_metadata_logs``, ``rebuild_playout`` in refresh mode, ``rebuild_xmltv``), with
  the real tools, containment and policy; baseline 30.0 s (the slowest of the samples).

A figure passes when it is at most its baseline x 1.05 (the regression multiplier). Prints
each ratio (measured / baseline) and exits 1 when one is missed. The baselines are the
server's own (``exstreamtv.performance_baselines``), which the running server also compares
its measurements with (``exstreamtv_performance_regression_ratio`` on /metrics).

    .venv/bin/python bench/baselines.py [--channels 200] [--hours 48] [--samples 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from exstreamtv.agent.planner import Goal
from exstreamtv.clock import SystemClock
from exstreamtv.config import Settings
from exstreamtv.performance_baselines import (
    AGENT_RUN,
    GUIDE_GENERATION,
    REGRESSION_MULTIPLIER,
    Baseline,
    p95,
)
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.guide import GuideLinks
from guide import seed_channels, seed_media


class SteppedClock(SystemClock):
    """The system clock whose monotonic time can be pushed past the tools' cooldowns."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.offset


async def guide_seconds(container: Container, sample: int) -> float:
    """One uncached generation: no fragment cached, and a base URL never asked before."""
    container.guide.fragments.cache.clear()
    started = time.perf_counter()
    document = await container.guide.xmltv(GuideLinks(f"http://bench-{sample}.test"))
    async for _chunk in document.gzip_stream():
        pass
    return time.perf_counter() - started


async def agent_seconds(container: Container, channel_id: int) -> float:
    started = time.perf_counter()
    run = await container.automation.agent.run(Goal.GUIDE, channel_id, trigger="api")
    elapsed = time.perf_counter() - started
    if len(run.steps) != 3 or run.outcome != "completed":
        raise SystemExit(f"the agent run did not take 3 steps: {run.outcome}: {run.reason}")
    return elapsed


def report(name: str, measured: float, baseline: Baseline) -> bool:
    ratio = measured / baseline.seconds
    ok = measured <= baseline.limit
    verdict = "ok" if ok else "REGRESSION"
    print(f"{name:<26} {measured:7.3f} s  baseline {baseline.seconds:4.1f} s  "
          f"ratio {ratio:.3f}  (limit {REGRESSION_MULTIPLIER}: {verdict})")  # fmt: skip
    return ok


async def run(channels: int, hours: int, samples: int, work: Path) -> bool:
    settings = Settings.model_validate(
        {"data_dir": work / "data", "demo": {"enabled": False},
         "playout": {"horizon_hours": hours}, "ai_agent": {"bounded_agent_enabled": True}}
    )  # fmt: skip
    clock = SteppedClock()
    async with open_container(settings, clock=clock) as container:
        shows = await seed_media(container, work / "media")
        await seed_channels(container, shows, channels, hours)
        await guide_seconds(container, -1)  # warm: the first request loads the channels
        guide = [await guide_seconds(container, n) for n in range(samples)]
        agent = []
        for n in range(samples):
            clock.offset += 300  # past every tool cooldown
            agent.append(await agent_seconds(container, n % channels + 1))
    print(f"{channels} channels x {hours} h, {samples} samples each")
    ok = report("guide generation p95", p95(guide), GUIDE_GENERATION)
    return report("3-step agent run (max)", max(agent), AGENT_RUN) and ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-baselines-") as work:
        ok = asyncio.run(run(args.channels, args.hours, max(2, args.samples), Path(work)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
