"""The supervisor on real processes: the cap, process groups, crash clean-up, dying with
the server, the restart path and the watchdog."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exstreamtv.errors import LimitReached
from exstreamtv.metrics import Metrics
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.supervisor import Supervisor
from tests.support import alive, gone_within, orphan_of_a_killed_server

FFMPEG_FOREVER = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                  "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"]  # fmt: skip


class StepClock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    def monotonic(self) -> float:
        return self.seconds


@pytest.fixture
async def supervisor(tmp_path: Path) -> AsyncIterator[Supervisor]:
    found = Supervisor(
        max_processes=2, clock=StepClock(), metrics=Metrics(), registry=tmp_path / "ffmpeg.pids"
    )
    await found.start()
    try:
        yield found
    finally:
        await found.close()


def sample(supervisor: Supervisor, name: str, **labels: str) -> float:
    return supervisor._metrics.registry.get_sample_value(name, labels) or 0.0


async def test_spawns_beyond_the_cap_are_refused_with_a_reason(supervisor: Supervisor) -> None:
    first = await supervisor.spawn("1", FFMPEG_FOREVER, purpose="item")
    await supervisor.spawn("2", FFMPEG_FOREVER, purpose="item")
    assert supervisor.pool_pressure == 1.0
    with pytest.raises(LimitReached, match=r"cap reached \(2/2\); channel 3"):
        await supervisor.spawn("3", FFMPEG_FOREVER, purpose="item")
    assert sample(supervisor, "exstreamtv_ffmpeg_spawn_refusals_total", reason="cap") == 1
    await supervisor.stop(first)
    await supervisor.spawn("3", FFMPEG_FOREVER, purpose="item")
    assert supervisor.process_count == 2


def children_running(marker: str) -> list[int]:
    """PIDs of this process's children whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and marker.encode() in cmdline and stat.split()[2] != "Z":
            found.append(int(entry.name))
    return found


async def test_a_spawn_cancelled_at_any_point_leaves_no_process(supervisor: Supervisor) -> None:
    # A channel stopped while its next FFmpeg starts cancels the spawn: whatever the point,
    # the process must not outlive it unseen (nobody holds it to stop it later).
    argv = ["sleep", "3000.25"]
    for step in range(40):
        task = asyncio.create_task(supervisor.spawn("1", argv, purpose="item"))
        for _ in range(step % 8):
            await asyncio.sleep(0)
        if step >= 8:
            await asyncio.sleep(0.0005 * (step - 8))
        task.cancel()
        try:
            managed = await task
        except asyncio.CancelledError:
            pass
        else:
            await supervisor.stop(managed)
        assert supervisor.process_count == 0, f"step {step}"
    assert children_running("3000.25") == []


async def test_stop_ends_the_whole_group_and_updates_the_registry(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    managed = await supervisor.spawn("1", FFMPEG_FOREVER, purpose="item")
    assert (tmp_path / "ffmpeg.pids").read_text().splitlines()[1:] == [str(managed.pid)]
    await supervisor.stop(managed)
    assert not alive(managed.pid)
    assert (tmp_path / "ffmpeg.pids").read_text().splitlines()[1:] == []
    assert sample(supervisor, "exstreamtv_ffmpeg_processes") == 0


async def test_close_stops_every_process(tmp_path: Path) -> None:
    supervisor = Supervisor(max_processes=4, clock=StepClock(), metrics=Metrics(),
                            registry=tmp_path / "p")  # fmt: skip
    await supervisor.start()
    pids = [(await supervisor.spawn(str(n), FFMPEG_FOREVER, purpose="item")).pid for n in range(3)]
    await supervisor.close()
    assert not any(alive(pid) for pid in pids)


@pytest.fixture
def orphan() -> subprocess.Popen[bytes]:
    """An FFmpeg in its own group, as a crashed server would have left it."""
    return subprocess.Popen(FFMPEG_FOREVER, start_new_session=True)


async def test_groups_left_by_a_crash_are_killed_on_the_next_start(
    tmp_path: Path, orphan: subprocess.Popen[bytes]
) -> None:
    registry = tmp_path / "ffmpeg.pids"
    registry.write_text(f"{orphan.pid}\n{os.getpid()}\n")  # ours is no ffmpeg: left alone
    supervisor = Supervisor(max_processes=2, clock=StepClock(), metrics=Metrics(),
                            registry=registry)  # fmt: skip
    try:
        assert await supervisor.start() == 1
        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert registry.read_text().splitlines()[1:] == []
    finally:
        await supervisor.close()


async def test_groups_of_a_server_that_still_runs_are_left_alone(
    tmp_path: Path, orphan: subprocess.Popen[bytes]
) -> None:
    """A command run beside the server (``exstreamtv scan``) starts a supervisor too: the
    server's FFmpeg processes, listed under its still-living pid, are not killed."""
    registry = tmp_path / "ffmpeg.pids"
    owner = orphan.pid  # any living process other than this one stands for the server
    started = Path(f"/proc/{owner}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    registry.write_text(f"owner {owner} {started}\n{orphan.pid}\n")
    supervisor = Supervisor(max_processes=2, clock=StepClock(), metrics=Metrics(),
                            registry=registry)  # fmt: skip
    try:
        assert await supervisor.start() == 0
        assert orphan.poll() is None
    finally:
        await supervisor.close()
        orphan.kill()
        orphan.wait(timeout=10)


def test_processes_die_with_a_killed_server() -> None:
    assert gone_within(orphan_of_a_killed_server(FFMPEG_FOREVER), 10)


async def test_restart_path_applies_cooldown_and_counts(supervisor: Supervisor) -> None:
    assert supervisor.restart("5", "crash").allowed
    denied = supervisor.restart("5", "crash")
    assert (denied.allowed, denied.reason) == (False, "channel cooldown")
    assert sample(supervisor, "exstreamtv_channel_restarts_total", reason="crash",
                  outcome="denied") == 1  # fmt: skip
    assert supervisor.restart_velocity == 1.0


async def test_five_failures_open_the_breaker_and_the_gauge_shows_it(
    supervisor: Supervisor,
) -> None:
    for _ in range(5):
        supervisor.record_failure("7")
    assert supervisor.breaker_state("7") is BreakerState.OPEN
    assert sample(supervisor, "exstreamtv_channel_breaker_state", channel="7", state="open") == 1
    assert not supervisor.restart("7", "crash").allowed


def scraped(supervisor: Supervisor, channel: str) -> dict[str, float]:
    """The breaker gauge of ``channel`` as a scrape of /metrics renders it."""
    text = supervisor._metrics.render().decode()
    found = {}
    for state in ("closed", "open", "half_open"):
        line = f'exstreamtv_channel_breaker_state{{channel="{channel}",state="{state}"}}'
        [value] = [row.split()[-1] for row in text.splitlines() if row.startswith(line)]
        found[state] = float(value)
    return found


async def test_the_breaker_gauge_turns_half_open_when_the_open_period_ends_unasked(
    supervisor: Supervisor,
) -> None:
    for _ in range(5):
        supervisor.record_failure("7")
    assert scraped(supervisor, "7") == {"closed": 0, "open": 1, "half_open": 0}
    supervisor._clock.seconds += 120  # type: ignore[attr-defined]
    # No viewer, no restart, no call on the supervisor: only time has passed.
    assert scraped(supervisor, "7") == {"closed": 0, "open": 0, "half_open": 1}
    assert supervisor.restart("7", "crash").allowed  # the trial
    supervisor.record_success("7")
    assert scraped(supervisor, "7") == {"closed": 1, "open": 0, "half_open": 0}


async def test_watchdog_restarts_a_silent_channel_once_per_silence(tmp_path: Path) -> None:
    clock = StepClock()
    supervisor = Supervisor(max_processes=2, clock=clock, metrics=Metrics(),
                            registry=tmp_path / "p", watchdog_timeout=30.0)  # fmt: skip
    stalled: list[str] = []

    async def on_stall(channel: str) -> None:
        stalled.append(channel)

    supervisor.watch("4", on_stall)
    supervisor.watch("5", on_stall)
    clock.seconds += 20
    supervisor.heartbeat("5")
    clock.seconds += 11
    assert await supervisor.check_stalls() == ["4"]
    assert await supervisor.check_stalls() == []
    clock.seconds += 25  # channel 5 now silent for 36 s; channel 4 restarted 25 s ago
    assert await supervisor.check_stalls() == ["5"]
    assert stalled == ["4", "5"]
    supervisor.unwatch("4")
    clock.seconds += 100
    assert await supervisor.check_stalls() == ["5"]


async def test_stderr_is_kept_in_a_bounded_tail(supervisor: Supervisor) -> None:
    noisy = [sys.executable, "-c", "import sys\nfor n in range(5000): print(n, file=sys.stderr)"]
    managed = await supervisor.spawn("1", noisy, purpose="item")
    await supervisor.reap(managed)
    lines = managed.stderr.text().splitlines()
    assert len(lines) == 100 and lines[-1] == "4999"
    await asyncio.sleep(0)
