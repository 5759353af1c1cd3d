"""Spawn benchmark: how long starting an FFmpeg holds the event loop.

In a process the size of a running server (the whole app imported, a heap of ~100 MB),
starts ``--count`` FFmpeg processes the way the supervisor does
(``start_process(..., die_with_parent=True)``) while a heartbeat task ticks every
millisecond; the loop's stall per spawn is the heartbeat's longest lateness around it.
For comparison, the same with a pre-exec hook (what spawns did before, and still do where
util-linux's ``setpriv`` is missing): the whole server is forked for each one.

With ``--busy N``, N processes spin on the CPU meanwhile (a loaded machine: the exec itself
then takes longer, and a spawn on the loop thread would hold the loop for all of it).

Target: a spawn holds the loop <= 5 ms.

    .venv/bin/python bench/spawn.py [--count 20] [--busy 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import exstreamtv.web.app  # noqa: F401 - a server-sized process: every module loaded
from exstreamtv.ffmpeg import process
from exstreamtv.ffmpeg.process import start_process, stop_process_group
from figures import Figure, add_json_option, report

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
          "-i", "anullsrc", "-f", "null", "-"]  # fmt: skip
TICK = 0.001


class Heartbeat:
    """Records how late a 1 ms ticker wakes up (the loop was held for that long)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.perf_counter() - before - TICK)

    def __enter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


@contextmanager
def with_pre_exec_hook() -> Iterator[None]:
    """Spawns as without setpriv: a pre-exec hook, so CPython forks the whole process."""
    real = process._setpriv
    process._setpriv = lambda: None  # type: ignore[assignment]
    try:
        yield
    finally:
        process._setpriv = real


async def stalls(count: int) -> list[float]:
    """The loop's longest stall around each of ``count`` spawns (seconds)."""
    found = []
    for _ in range(count):
        await asyncio.sleep(0.02)  # let the heartbeat settle
        with Heartbeat() as heart:
            await asyncio.sleep(0.005)
            child = await start_process(FFMPEG, die_with_parent=True)
            await asyncio.sleep(0.005)
        found.append(heart.worst)
        await stop_process_group(child)
    return found


@contextmanager
def busy(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU (each ends by itself within five minutes)."""
    spin = "import time\nend = time.monotonic() + 300\nwhile time.monotonic() < end: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


async def run(count: int, spinners: int) -> list[Figure]:
    ballast = [bytes(1000) for _ in range(60_000)]  # a server's heap: forking copies it
    with busy(spinners):
        with Heartbeat() as idle:
            await asyncio.sleep(0.5)
        now = await stalls(count)
        with with_pre_exec_hook():
            before = await stalls(count)
    del ballast
    return [
        Figure("spawn.loop_stall_median_ms", "spawn: loop stall, median",
               statistics.median(now) * 1000, "ms", 5.0),
        Figure("spawn.loop_stall_max_ms", "spawn: loop stall, worst of the run",
               max(now) * 1000, "ms"),
        Figure("spawn.pre_exec_stall_median_ms", "with a pre-exec hook (the old way), median",
               statistics.median(before) * 1000, "ms"),
        Figure("spawn.idle_stall_ms", "idle loop's worst lateness (noise floor)",
               idle.worst * 1000, "ms"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--busy", type=int, default=0, help="CPU spinners meanwhile")
    add_json_option(parser)
    args = parser.parse_args()
    report(asyncio.run(run(args.count, args.busy)), args.json)


if __name__ == "__main__":
    main()
