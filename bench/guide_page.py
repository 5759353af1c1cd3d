"""Guide page benchmark: the web guide for 50 channels over 6 hours, in Chromium.

Seeds a SQLite database through the real repositories: 25 channels of 22-minute episodes,
each after two 30-second bumpers, and 25 channels of 25-second clips (the worst case: a
programme every 25 s), playouts built by the real engine. Then runs ``exstreamtv serve``
on it and times, in Debian's Chromium:

* the guide page from navigation to its first complete picture (the rows in view, merged
  short items, the now-line): target <= 300 ms (median of the warm loads);
* the server's CPU time per page load (user + system, from psutil): what the load costs
  the server whatever else the machine is doing;
* ``GET /api/guide`` for every channel over 6 hours at once (what the page never asks for;
  for comparison).

    .venv/bin/python bench/guide_page.py [--channels 50] [--loads 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from playwright.sync_api import sync_playwright
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import FileStamp, MediaKind, MediaMetadata, ScannedFile, TechnicalInfo
from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    WeightedCollection,
)
from exstreamtv.scheduling.engine import BuildInputs, build
from exstreamtv.services.container import open_container
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

CHROMIUM = "/usr/bin/chromium"
HOURS = 6
TARGET_MS = 300
READY = "performance.getEntriesByName('page-ready')[0]?.startTime ?? null"


Row = tuple[str | None, str, int]  # show (None: not an episode), title, duration in ms


async def media(
    sessions: async_sessionmaker[AsyncSession], root: Path
) -> dict[str, list[Playable]]:
    """Episodes (22 min), bumpers (30 s) and clips (25 s) as stored media rows."""
    kinds: dict[str, list[Row]] = {
        "episodes": [(f"Show {n % 5}", f"Episode {n}", 22 * 60_000) for n in range(40)],
        "bumpers": [(None, f"Bumper {n}", 30_000) for n in range(4)],
        "clips": [(None, f"Clip {n}", 25_000) for n in range(60)],
    }
    now = datetime.now(UTC)
    found: dict[str, list[Playable]] = {}
    async with transaction(sessions) as session:
        library = await LibraryRepository(session).create_local(
            "Bench", LibraryKind.MIXED, [str(root)], now
        )
        repo = MediaRepository(session)
        for kind, rows in kinds.items():
            files = [_scanned(f"{root}/{kind}/{n}.mkv", n, row) for n, row in enumerate(rows)]
            await repo.save_scanned(library.id, files, {}, now)
            known = await repo.known_files(library.id)
            found[kind] = [
                Playable(known[f.path].id, row[2], row[1], row[0])
                for f, row in zip(files, rows, strict=True)
            ]
    return found


def _scanned(path: str, n: int, row: Row) -> ScannedFile:
    show, title, ms = row
    kind = MediaKind.EPISODE if show else MediaKind.OTHER
    season, episode = (1, n + 1) if show else (None, None)
    meta = MediaMetadata(kind, title, show=show, season=season, episode=episode)
    tech = TechnicalInfo(duration_ms=ms, video_codec="h264", audio_codec="aac")
    return ScannedFile(path, FileStamp(1, 1), meta, tech)


async def seed(data_dir: Path, channels: int) -> None:
    settings = Settings.model_validate(
        {"data_dir": data_dir, "demo": {"enabled": False}, "playout": {"horizon_hours": HOURS + 2}}
    )
    async with open_container(settings) as container:
        found = await media(container.sessions, data_dir / "media")
        start = datetime.now(UTC) - timedelta(hours=1)
        until = start + timedelta(hours=HOURS + 3)
        bumpers = FillerPreset(1, "Bumpers", FillerKind.PRE_ROLL, (WeightedCollection(2),), count=2)
        for n in range(1, channels + 1):
            shows = n % 2 == 1
            source = ContentSource((1,), PlaybackOrder.SHUFFLE)
            filler = FillerSet(pre_roll=1) if shows else FillerSet()
            item = ScheduleItem(source, PlayMode.ONE, filler=filler)
            schedule = Schedule(n, f"s{n}", ScheduleKind.ITEMS, items=(item,), seed=n)
            collections = {1: found["episodes" if shows else "clips"], 2: found["bumpers"]}
            inputs = BuildInputs(schedule, collections, {1: bumpers} if shows else {})
            result = build(inputs, None, start, until)
            async with transaction(container.sessions) as session:
                channel = await ChannelRepository(session).create(
                    ChannelFields(ChannelNumber(n), f"Channel {n}", group="Bench"), start
                )
                await PlayoutRepository(session).replace_from(
                    channel.id, start, result.entries, result.cursors
                )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (data_dir / "exstreamtv.yaml").write_text(
        f"demo:\n  enabled: false\nplayout:\n  horizon_hours: {HOURS + 2}\n"
        "hdhomerun:\n  discovery_enabled: false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    argv = [sys.executable, "-m", "exstreamtv", "serve", "--data-dir", str(data_dir),
            "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def page_loads(url: str, loads: int) -> list[float]:
    """Milliseconds from navigation to the guide's first complete picture, per load (each in
    a fresh browser context: no cache, as a first visit)."""
    times = []
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{url}/guide")
            page.wait_for_selector("body[data-ready]", timeout=60_000)
            times.append(float(page.evaluate(READY)))
            context.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-guide-page-") as work:
        data_dir = Path(work) / "data"
        started = time.perf_counter()
        asyncio.run(seed(data_dir, args.channels))
        print(
            f"seeded {args.channels} channels x {HOURS} h in {time.perf_counter() - started:.1f}s"
        )
        process, url = serve(data_dir)
        try:
            server = psutil.Process(process.pid)
            page_loads(url, 1)  # the first visit makes the logo tiles (FFmpeg), once
            before = sum(server.cpu_times()[:2])
            times = page_loads(url, args.loads)
            cpu_ms = (sum(server.cpu_times()[:2]) - before) * 1000 / args.loads
            now = datetime.now(UTC)
            window = {"start": now.isoformat(), "end": (now + timedelta(hours=HOURS)).isoformat()}
            api_started = time.perf_counter()
            every = httpx.get(f"{url}/api/guide", params=window, timeout=60)
            api_s = time.perf_counter() - api_started
        finally:
            process.terminate()
            process.wait(timeout=30)
    median = statistics.median(times)
    verdict = "ok" if median <= TARGET_MS else "MISSED"
    print(f"guide page loads:         median {median:.0f} ms, max {max(times):.0f} ms "
          f"(target <= {TARGET_MS} ms: {verdict})")  # fmt: skip
    print(f"server CPU per page load: {cpu_ms:.0f} ms (load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip
    programmes = len(every.json()["programmes"])
    print(f"GET /api/guide, all {args.channels} channels x {HOURS} h unmerged: "
          f"{api_s * 1000:.0f} ms for {programmes} programmes")  # fmt: skip


if __name__ == "__main__":
    main()
