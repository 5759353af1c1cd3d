"""The supervisor: the one owner of streaming FFmpeg processes and the one restart path.

* **Spawning** goes through :meth:`Supervisor.spawn` only. A global cap
  (``ffmpeg.max_processes``) refuses a spawn beyond it with :class:`LimitReached` naming the
  reason; every process runs in its own process group, its stderr kept in a bounded ring,
  and is asked to die with the server (``PR_SET_PDEATHSIG``).
* **Stopping** is always TERM to the group, a grace period, then KILL.
* **Crash clean-up**: the process groups of running processes are listed in a file in the
  data directory, under the owning server's pid and start time; on the next start, any
  group from that list that still runs FFmpeg is killed, unless the owner still runs (a
  command such as ``exstreamtv scan`` beside a running server must not kill its streams).
* **Restarts** are asked for through :meth:`Supervisor.restart`, which applies the global
  throttle, the per-channel cooldown and the circuit breaker (``playback.restarts``).
* **Watchdog**: a channel that reports no output for ``watchdog_timeout`` seconds is
  restarted through that same path.

``restart_velocity`` (restarts per minute) and ``pool_pressure`` (processes / cap) are the
values the automation layer reads for containment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exstreamtv.clock import Clock
from exstreamtv.errors import LimitReached
from exstreamtv.ffmpeg.process import (
    Child,
    StderrTail,
    drain_to_eof,
    start_process,
    stop_process_group,
)
from exstreamtv.metrics import Metrics
from exstreamtv.playback.restarts import BreakerState, RestartDecision, RestartPolicy

log = logging.getLogger(__name__)
STDERR_LINES = 100
_READ = 64 * 1024


@dataclass(slots=True)
class ManagedProcess:
    """A supervised FFmpeg: read its ``stdout``; the supervisor drains stderr."""

    channel: str
    purpose: str
    process: Child
    stderr: StderrTail
    drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdout(self) -> asyncio.StreamReader:
        if self.process.stdout is None:  # start_process always pipes stdout
            raise RuntimeError("process was started without a stdout pipe")
        return self.process.stdout


StallHandler = Callable[[str], Awaitable[None]]


class Supervisor:
    """Owns every streaming FFmpeg process; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        max_processes: int,
        clock: Clock,
        metrics: Metrics,
        registry: Path,
        policy: RestartPolicy | None = None,
        watchdog_timeout: float = 30.0,
        watchdog_interval: float = 5.0,
    ) -> None:
        self._cap = max_processes
        self._clock = clock
        self._metrics = metrics
        self._registry = registry
        self.policy = policy or RestartPolicy()
        self._running: dict[int, ManagedProcess] = {}
        self._heartbeats: dict[str, tuple[float, StallHandler]] = {}
        self._watchdog_timeout = watchdog_timeout
        self._watchdog_interval = watchdog_interval
        self._watchdog: asyncio.Task[None] | None = None
        self._registry_lock = asyncio.Lock()
        self._published: set[str] = set()  # channels with a breaker gauge (one per channel)

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> int:
        """Kill process groups left by a crashed previous run; start the watchdog.

        Returns how many leftover groups were killed.
        """
        killed = await asyncio.to_thread(_kill_leftovers, self._registry)
        if killed:
            log.warning("killed %d FFmpeg process group(s) left by a previous crash", killed)
        self._watchdog = asyncio.create_task(self._watch(), name="ffmpeg-watchdog")
        return killed

    async def close(self) -> None:
        """Stop the watchdog and every process (TERM, grace, KILL)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        await asyncio.gather(*(self.stop(p) for p in list(self._running.values())))

    # --- processes -----------------------------------------------------------------

    async def spawn(self, channel: str, argv: Sequence[str], *, purpose: str) -> ManagedProcess:
        """Start ``argv`` for ``channel``; raises LimitReached at the cap."""
        if len(self._running) >= self._cap:
            self._metrics.ffmpeg_spawn_refusals.labels("cap").inc()
            raise LimitReached(
                f"FFmpeg process cap reached ({len(self._running)}/{self._cap}); "
                f"channel {channel} cannot start",
                retry_after=10,
            )
        process = await start_process(argv, die_with_parent=True)
        managed = ManagedProcess(channel, purpose, process, StderrTail(STDERR_LINES))
        managed.drain = asyncio.create_task(self._drain(managed))
        self._running[process.pid] = managed
        self._metrics.ffmpeg_processes.set(len(self._running))
        try:
            await self._save_registry()
        except BaseException:  # cancelled before the caller got it: nobody else would stop it
            await self.stop(managed, grace=0.5)
            raise
        return managed

    async def stop(self, managed: ManagedProcess, *, grace: float = 2.0) -> int:
        """Stop a process group and forget it; returns the exit status."""
        await stop_process_group(managed.process, grace=grace)
        await drain_to_eof(managed.process)  # so asyncio closes the pipes now, not at exit
        return await self.reap(managed)

    async def reap(self, managed: ManagedProcess) -> int:
        """Wait for an exited (or stopping) process and forget it; returns its status."""
        status = await managed.process.wait()
        if managed.drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await managed.drain
        if self._running.pop(managed.pid, None) is not None:
            self._metrics.ffmpeg_processes.set(len(self._running))
            await self._save_registry()
        return status

    async def _save_registry(self) -> None:
        """Write the running groups; one writer at a time, always the latest set."""
        async with self._registry_lock:
            await asyncio.to_thread(_write_registry, self._registry, list(self._running))

    async def _drain(self, managed: ManagedProcess) -> None:
        stream = managed.process.stderr
        if stream is None:
            return
        while chunk := await stream.read(_READ):
            managed.stderr.feed(chunk)
        managed.stderr.close()

    @property
    def pool_pressure(self) -> float:
        """Processes in use over the cap (0..1)."""
        return len(self._running) / self._cap

    @property
    def process_count(self) -> int:
        return len(self._running)

    # --- the restart path -----------------------------------------------------------

    def restart(self, channel: str, reason: str) -> RestartDecision:
        """Ask to restart ``channel``: the only way a restart is allowed."""
        decision = self.policy.allow(channel, self._clock.monotonic())
        outcome = "allowed" if decision.allowed else "denied"
        self._metrics.restarts.labels(reason, outcome).inc()
        self._publish_breaker(channel)
        if not decision.allowed:
            log.warning(
                "restart of channel %s denied: %s", channel, decision.reason,
                extra={"channel": channel},
            )  # fmt: skip
        return decision

    def record_failure(self, channel: str) -> None:
        self.policy.record_failure(channel, self._clock.monotonic())
        self._publish_breaker(channel)

    def record_success(self, channel: str) -> None:
        self.policy.record_success(channel)
        self._publish_breaker(channel)

    def breaker_state(self, channel: str) -> BreakerState:
        return self.policy.breaker_state(channel, self._clock.monotonic())

    @property
    def restart_velocity(self) -> float:
        """Restarts per minute over the last minute."""
        return self.policy.velocity(self._clock.monotonic())

    def _publish_breaker(self, channel: str) -> None:
        """Export ``channel``'s breaker gauge, read from the policy at every scrape: the
        open period ending (a change no call announces) shows as ``half_open`` at once."""
        if channel in self._published:
            return
        self._published.add(channel)
        for value in BreakerState:
            gauge = self._metrics.breaker_state.labels(channel, value.value)
            gauge.set_function(self._breaker_reader(channel, value))

    def _breaker_reader(self, channel: str, value: BreakerState) -> Callable[[], float]:
        return lambda: float(self.breaker_state(channel) is value)

    # --- the watchdog ----------------------------------------------------------------

    def watch(self, channel: str, on_stall: StallHandler) -> None:
        """Start watching ``channel``'s output (call :meth:`heartbeat` on every write)."""
        self._heartbeats[channel] = (self._clock.monotonic(), on_stall)

    def heartbeat(self, channel: str) -> None:
        found = self._heartbeats.get(channel)
        if found is not None:
            self._heartbeats[channel] = (self._clock.monotonic(), found[1])

    def unwatch(self, channel: str) -> None:
        self._heartbeats.pop(channel, None)
        self.policy.forget(channel, self._clock.monotonic())

    async def check_stalls(self) -> list[str]:
        """Restart (through :meth:`restart`) every watched channel silent for too long."""
        now, stalled = self._clock.monotonic(), []
        for channel, (last, on_stall) in list(self._heartbeats.items()):
            if now - last < self._watchdog_timeout:
                continue
            self._heartbeats[channel] = (now, on_stall)  # one restart per silence window
            if self.restart(channel, "watchdog").allowed:
                stalled.append(channel)
                await on_stall(channel)
        return stalled

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._watchdog_interval)
            try:
                await self.check_stalls()
            except Exception:  # the top of a task: log and keep watching
                log.exception("watchdog pass failed")


def _write_registry(path: Path, pids: list[int]) -> None:
    """Record the running process groups (atomically) for crash clean-up, under this
    process's identity."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    owner = f"owner {os.getpid()} {_started(os.getpid())}\n"
    partial.write_text(owner + "".join(f"{pid}\n" for pid in pids), encoding="ascii")
    partial.replace(path)


def _kill_leftovers(path: Path) -> int:
    """KILL every process group listed in ``path`` whose leader still runs FFmpeg, unless
    the process that wrote the list still runs (it owns them)."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        return 0
    pids: list[int] = []
    for line in lines:
        fields = line.split()
        if fields[:1] == ["owner"]:
            if len(fields) == 3 and _owner_alive(int(fields[1]), fields[2]):
                log.info("FFmpeg processes listed in %s belong to running pid %s; left alone",
                         path, fields[1])  # fmt: skip
                return 0
        elif fields and fields[0].isdigit():
            pids.append(int(fields[0]))
    killed = 0
    for pid in pids:
        if _is_ffmpeg(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed += 1
    _write_registry(path, [])
    return killed


def _started(pid: int) -> str:
    """A process's start time (clock ticks since boot), which tells it from a later process
    that reused its pid; empty when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _owner_alive(pid: int, started: str) -> bool:
    return pid != os.getpid() and bool(started) and _started(pid) == started


def _is_ffmpeg(pid: int) -> bool:
    """True when ``pid`` is alive and runs ffmpeg (a reused pid must never be killed)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return Path(os.fsdecode(command)).name.startswith("ffmpeg")
