"""Start-up benchmark: a real ``exstreamtv serve`` from process start to healthy and to
ready, with 200 and 1,000 channels, and its idle memory with the demo.

Each lineup is seeded once (``bench/guide.py``'s seeding: 48 h of 22-minute episodes per
channel, built by the real engine); then the server is started ``--runs`` times on it and
the median is kept. *Healthy*: ``/healthz`` answers (the port is bound; the HTTP app is
then built in a worker thread, holding other requests). *Lineup*: ``/lineup.json``, what a
DVR asks first, answers. *Ready*: ``/readyz`` answers 200 (encoders listed, every playout
extended). Bytecode is cached as for any install (``PYTHONDONTWRITEBYTECODE`` is dropped).
Idle memory: the RSS of the server process on the demo configuration, once ready and
left alone for ``--settle`` seconds (the demo is made by a first run before).

Targets on a quiet 2-core machine: healthy <= 1.0 s with 200 channels and <= 2.0 s with
1,000; idle RSS <= 80 MB.

    .venv/bin/python bench/startup.py [--runs 5] [--settle 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from exstreamtv.clock import SystemClock
from exstreamtv.config import Settings
from exstreamtv.services.container import open_container
from figures import Figure, add_json_option, report
from guide import seed_channels, seed_media

TIMEOUT_SEC = 300


async def seed(data: Path, channels: int) -> None:
    settings = Settings.model_validate({"data_dir": data, "demo": {"enabled": False}})
    async with open_container(settings, clock=SystemClock()) as container:
        shows = await seed_media(container, data.parent / "media")
        await seed_channels(container, shows, channels, 48)


class Serve:
    """``exstreamtv serve`` on ``data``, timed from the moment it is started."""

    def __init__(self, data: Path, port: int) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("EXSTREAMTV_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env["EXSTREAMTV_HDHOMERUN__DISCOVERY_ENABLED"] = "false"
        argv = [sys.executable, "-m", "exstreamtv", "serve", "--data-dir", str(data),
                "--port", str(port)]  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def until(self, path: str) -> float:
        """Seconds from start until ``path`` answers 200 (polled every 5 ms)."""
        deadline = time.monotonic() + TIMEOUT_SEC
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit("the server exited during start-up")
                try:
                    if client.get(f"{self.url}{path}").status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
        raise SystemExit(f"{path} did not answer in {TIMEOUT_SEC}s")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise SystemExit("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def timed(data: Path, runs: int, port: int) -> tuple[float, float, float]:
    """Median seconds to healthy, to the lineup and to ready over ``runs`` starts."""
    healthy, lineup, ready = [], [], []
    for _ in range(runs):
        server = Serve(data, port)
        try:
            healthy.append(server.until("/healthz"))
            lineup.append(server.until("/lineup.json"))
            ready.append(server.until("/readyz"))
        finally:
            server.stop()
    return statistics.median(healthy), statistics.median(lineup), statistics.median(ready)


def idle_rss(data: Path, port: int, settle: float) -> float:
    first = Serve(data, port)  # the first run makes the demo
    try:
        first.until("/readyz")
    finally:
        first.stop()
    server = Serve(data, port)
    try:
        server.until("/readyz")
        time.sleep(settle)
        return server.rss_mb()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=10.0)
    add_json_option(parser)
    args = parser.parse_args()
    port = 18900 + os.getpid() % 500
    source = Path(__file__).resolve().parent.parent / "src"
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(source)],
                   check=True)  # fmt: skip
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="exstreamtv-startup-") as work:
        for channels, target in ((200, 1.0), (1000, 2.0)):
            data = Path(work) / f"c{channels}" / "data"
            asyncio.run(seed(data, channels))
            timed(data, 1, port)  # the first start extends what seeding left
            healthy, lineup, ready = timed(data, args.runs, port)
            figures += [
                Figure(f"startup.healthy_{channels}_s",
                       f"start to healthy, {channels} channels", healthy, "s", target),
                Figure(f"startup.lineup_{channels}_s",
                       f"start to lineup.json, {channels} channels", lineup, "s"),
                Figure(f"startup.ready_{channels}_s",
                       f"start to ready, {channels} channels", ready, "s"),
            ]  # fmt: skip
        rss = idle_rss(Path(work) / "demo" / "data", port, args.settle)
        figures.append(Figure("startup.idle_rss_mb", "idle RSS, demo configured", rss, "MB", 80))
    report(figures, args.json)


if __name__ == "__main__":
    main()
