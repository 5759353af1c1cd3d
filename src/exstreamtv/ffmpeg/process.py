"""The one place in EXStreamTV that starts child processes.

Discipline (see ``DESIGN.md``, "Subprocess discipline"):

- **No shell.** A child is started from an argv list built by a pure function; nothing is
  ever interpreted by ``/bin/sh``.
- **Own process group.** Every child starts a new session, so its process group id equals its
  pid and everything it forks (grandchildren included) can be signalled as one unit.
- **TERM, wait, KILL.** Stopping sends SIGTERM to the whole group, waits a grace period for
  the leader, then sends SIGKILL to the group to sweep anything left, and reaps the leader.
- **Bounded memory.** Captured stdout has a byte cap; stderr is kept only as a ring of its
  last lines, each line truncated.
- **No secrets inherited.** A child gets this process's environment without EXStreamTV's
  own variables (``EXSTREAMTV_*`` may hold the access token, the database password or an
  API key) and ``MEDIA_SERVER_TOKEN``: ``/proc/<pid>/environ`` of an FFmpeg shows none.
- **Nothing outlives its owner.** A timeout, an error or a cancelled caller stops the group
  before the exception propagates; the event loop is never blocked.
- **Spawned off the loop.** ``fork``/``exec`` runs on one long-lived spawner thread, not on
  the event loop: on a loaded machine an exec can take a few hundred milliseconds, and the
  loop thread would wait for it (every channel's pacing with it). The child's pipes are
  then read by the loop, and its exit is seen through a pidfd, so no thread waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import os
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from exstreamtv.errors import ProcessError

log = logging.getLogger(__name__)
_DRAIN_TIMEOUT = 2.0
_REAP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1
_READ_CHUNK = 64 * 1024
_EXEC_WAIT_SEC = 2.0
_EXEC_POLL_SEC = 0.0005
_FFMPEG_PROGRAMS = frozenset({"ffmpeg", "ffprobe"})
_PIPE_LIMIT = 64 * 1024  # a StreamReader's buffer (asyncio's subprocess default)
# One thread for the whole process: the kernel's parent-death signal follows the *thread*
# that created a child, so it must outlive every child it starts (a pool's idle worker
# must not be the one that did).
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="exstreamtv-spawn")


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """The outcome of a child that ran to its end.

    ``returncode`` is the exit status (negative: killed by that signal). ``stderr_tail`` is
    the last lines of stderr, decoded as UTF-8 with replacement, joined by ``"\\n"``.
    ``elapsed`` is wall time from start to exit in seconds (monotonic clock).
    """

    returncode: int
    stdout: bytes
    stderr_tail: str
    elapsed: float


class StderrTail:
    """A ring of the last ``max_lines`` lines of a byte stream, each cut to ``max_line_bytes``.

    Memory stays bounded whatever the child writes, including one endless line.
    """

    def __init__(self, max_lines: int, *, max_line_bytes: int = 4096) -> None:
        self._lines: deque[bytes] = deque(maxlen=max(max_lines, 0))
        self._partial = bytearray()
        self._max_line_bytes = max_line_bytes

    def feed(self, data: bytes) -> None:
        """Add a chunk of the stream; complete lines enter the ring."""
        *complete, rest = data.split(b"\n")
        for piece in complete:
            self._append_partial(piece)
            self._lines.append(bytes(self._partial))
            self._partial.clear()
        self._append_partial(rest)

    def close(self) -> None:
        """End of stream: an unterminated last line counts as a line."""
        if self._partial:
            self._lines.append(bytes(self._partial))
            self._partial.clear()

    def text(self) -> str:
        """The kept lines, without terminators, joined by ``"\\n"``."""
        return "\n".join(line.rstrip(b"\r").decode("utf-8", "replace") for line in self._lines)

    def _append_partial(self, piece: bytes) -> None:
        room = self._max_line_bytes - len(self._partial)
        if room > 0:
            self._partial += piece[:room]


class Child:
    """A running child: its ``pid``, its ``stdout`` and ``stderr`` as stream readers, and
    its exit status (``returncode``; negative: killed by that signal) once it has exited.

    The exit is watched with a pidfd on the event loop and reaped at once: :meth:`wait`
    returns when the process has exited, whether or not its pipes have been read.
    """

    def __init__(
        self, popen: subprocess.Popen[bytes], stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader, transports: Sequence[asyncio.BaseTransport],
    ) -> None:  # fmt: skip
        self._popen = popen
        self.pid = popen.pid
        self.stdout: asyncio.StreamReader | None = stdout
        self.stderr: asyncio.StreamReader | None = stderr
        self._transports = tuple(transports)
        self._loop = loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        self._pidfd: int | None = os.pidfd_open(popen.pid)
        loop.add_reader(self._pidfd, self._on_exit)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """The exit status, once the process has exited."""
        return await asyncio.shield(self._exited)

    def abandon(self) -> None:
        """Kill the group and let go of the child at once, without awaiting anything: its
        pipes are closed here and it is reaped on the spawner thread. For a caller that
        went away, possibly as its event loop closes (a server or test shutting down
        during a start): no process is left running or unreaped, and no pipe open."""
        _signal_group(self.pid, signal.SIGKILL)
        for transport in self._transports:
            transport.close()
        self._unwatch()
        _SPAWNER.submit(_reap, self._popen)

    def _on_exit(self) -> None:
        status = self._popen.poll()  # the pidfd is readable: it has exited; this reaps it
        if status is None:
            return
        self._unwatch()
        if not self._exited.done():
            self._exited.set_result(status)

    def _unwatch(self) -> None:
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None


def child_environment() -> dict[str, str]:
    """The environment a child starts with: ours, less the variables that may hold secrets."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("EXSTREAMTV_") and name != "MEDIA_SERVER_TOKEN"
    }


async def start_process(argv: Sequence[str], *, die_with_parent: bool = False) -> Child:
    """Start ``argv`` in its own process group with stdin closed and stdout/stderr piped.

    With ``die_with_parent`` the kernel sends the child SIGKILL if this process dies (Linux
    ``PR_SET_PDEATHSIG``), so a crashed server leaves no FFmpeg running. The caller owns
    the process and must end it with ``stop_process_group`` (or read it to its end and
    ``wait`` for it). Raises ``ProcessError`` when the executable is missing or cannot be
    started.

    The spawn never runs Python code in the child, so CPython starts it with ``vfork``:
    the event loop is held for about a millisecond, where a ``fork`` of a server-sized
    process (needed to run a pre-exec hook) held it for tens. The death signal is set by
    util-linux's ``setpriv --pdeathsig``, which then execs the program in place: the pid,
    process group and pipes are the program's own.
    """
    if not argv:
        raise ProcessError("cannot start a process from an empty argv")
    command, hook, wrapper = list(argv), None, None
    if die_with_parent:
        wrapper = _setpriv()
        if wrapper is None:  # correct, but every spawn then forks the whole server
            hook = _death_signal()
        else:  # resolved first: a missing program is named (setpriv would just exit 127)
            command = [wrapper, "--pdeathsig", "KILL", "--", _resolved(argv[0]), *argv[1:]]
    proc = await _spawn(command, hook, argv[0])
    if wrapper is not None:
        try:
            await _until_exec(proc.pid, wrapper)
        except BaseException:  # a cancelled caller still stops its child
            proc.abandon()
            raise
    return proc


async def _spawn(command: list[str], hook: Callable[[], None] | None, program: str) -> Child:
    """Start ``command`` on the spawner thread and attach its pipes and exit to the loop.

    A caller cancelled meanwhile does not leave the child behind: the start completes
    (shielded), then the child's group is killed, its pipes drained and it is reaped."""
    starting = asyncio.ensure_future(_started(command, hook, program))
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        starting.add_done_callback(_abandon)
        raise


async def _started(command: list[str], hook: Callable[[], None] | None, program: str) -> Child:
    loop = asyncio.get_running_loop()
    spawning = _SPAWNER.submit(_popen, command, hook)
    try:
        popen = await asyncio.wrap_future(spawning)
    except asyncio.CancelledError:
        # Cancelled during the exec (a loop shutting down cancels even the shielded start):
        # the child comes all the same, to no one; it is killed and reaped where it comes.
        spawning.add_done_callback(_orphaned)
        raise
    except FileNotFoundError as err:
        raise ProcessError(_not_found_message(program)) from err
    except PermissionError as err:
        raise ProcessError(f"{program} is not executable") from err
    except OSError as err:
        raise ProcessError(f"{program} could not be started: {err.strerror}") from err
    return await _attach(loop, popen)


def _popen(command: list[str], hook: Callable[[], None] | None) -> subprocess.Popen[bytes]:
    # argv is a list built by the pure builders in exstreamtv.ffmpeg.command; no shell.
    return subprocess.Popen(  # noqa: S603
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=hook,  # noqa: PLW1509 (only without setpriv: see start_process)
        env=child_environment(),
    )


async def _attach(loop: asyncio.AbstractEventLoop, popen: subprocess.Popen[bytes]) -> Child:
    """Read ``popen``'s pipes on the loop (their transports close at EOF). Should that
    fail, the child is killed and reaped and its pipes closed."""
    pipes = [popen.stdout, popen.stderr]
    transports: list[asyncio.BaseTransport] = []
    readers: list[asyncio.StreamReader] = []
    try:
        for pipe in pipes:
            reader = asyncio.StreamReader(limit=_PIPE_LIMIT, loop=loop)
            transport, _ = await loop.connect_read_pipe(
                functools.partial(asyncio.StreamReaderProtocol, reader, loop=loop), pipe
            )
            transports.append(transport)
            readers.append(reader)
        return Child(popen, readers[0], readers[1], transports)
    except BaseException:
        _signal_group(popen.pid, signal.SIGKILL)
        for attached in transports:
            attached.close()
        _SPAWNER.submit(_reap, popen)
        raise


def _abandon(starting: asyncio.Future[Child]) -> None:
    """A start whose caller went away: stop the child it started, if any."""
    if not starting.cancelled() and starting.exception() is None:
        starting.result().abandon()


def _orphaned(spawning: Future[subprocess.Popen[bytes]]) -> None:
    """A child started for a caller that is gone: killed, then reaped on the spawner."""
    if not spawning.cancelled() and spawning.exception() is None:
        popen = spawning.result()
        _signal_group(popen.pid, signal.SIGKILL)
        _SPAWNER.submit(_reap, popen)


def _reap(popen: subprocess.Popen[bytes]) -> None:
    """Close a killed child's pipes and wait for its exit (on the spawner thread)."""
    for pipe in (popen.stdout, popen.stderr):
        if pipe is not None:
            pipe.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(_REAP_TIMEOUT)


async def _until_exec(pid: int, wrapper: str) -> None:
    """Return once child ``pid`` no longer runs ``wrapper``: setpriv sets the death signal
    and then execs the program, so from then on the child dies with this process.

    Polls ``/proc/<pid>/exe`` (a millisecond or two) without holding the event loop; a
    child that is gone ends the wait, and it is bounded whatever happens.
    """
    deadline = time.monotonic() + _EXEC_WAIT_SEC
    while time.monotonic() < deadline:
        try:
            # /proc lives in memory: this readlink never waits on a disk.
            if str(Path(f"/proc/{pid}/exe").readlink()) != wrapper:  # noqa: ASYNC240
                return
        except OSError:  # exited (a zombie has no exe): nothing is left to guard
            return
        await asyncio.sleep(_EXEC_POLL_SEC)


def _resolved(program: str) -> str:
    """The executable ``program`` names (searched on ``PATH`` unless it holds a ``/``).

    Raises ``ProcessError`` when there is none, or when the named file is not executable.
    """
    found = shutil.which(program)
    if found is not None:
        return found
    if os.sep in program and Path(program).exists():
        raise ProcessError(f"{program} is not executable")
    raise ProcessError(_not_found_message(program))


@functools.cache
def _setpriv() -> str | None:
    """The real path of setpriv (as ``/proc/<pid>/exe`` shows it), or ``None``."""
    found = shutil.which("setpriv")  # util-linux: on every Debian system
    if found is None:
        log.warning("setpriv not found (util-linux): FFmpeg spawns will fork the server")
        return None
    return os.path.realpath(found)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)  # the C library already loaded in this process


def _death_signal() -> Callable[[], None]:
    """A pre-exec hook for the child: SIGKILL it when the parent dies.

    The prctl function is looked up here, in the parent, so the child runs one foreign call
    between fork and exec and nothing else.
    """
    prctl = _libc().prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


async def stop_process_group(proc: Child, *, grace: float = 2.0) -> None:
    """Stop ``proc`` and every process in its group: TERM, wait ``grace`` seconds, KILL.

    SIGKILL is sent to the group even when the leader exits in time, so a grandchild that
    ignores SIGTERM does not survive. Returns once the leader is reaped. Processes already
    gone are fine. If the caller is cancelled during the grace wait, SIGKILL is still sent.

    What is left in the pipes is read and discarded while waiting, so their transports
    reach EOF and close now (a stopped process's unread output would otherwise keep them
    open until garbage collection).
    """
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await _wait_draining(proc)
    finally:
        # The group id is the leader's pid (new session). Linux does not reuse a pid while a
        # group with that id has members, so stragglers are ours; once the group is empty
        # only pid wrap-around between the reap and this call could hit a stranger.
        _signal_group(proc.pid, signal.SIGKILL)
    try:
        # After SIGKILL the exit is immediate; the bound is a last resort so that nothing
        # (a pipe another task holds open, say) can ever hang the caller.
        async with asyncio.timeout(_REAP_TIMEOUT):
            await _wait_draining(proc)
    except TimeoutError:
        log.warning("process %d did not report its exit after SIGKILL", proc.pid)


async def _wait_draining(proc: Child) -> None:
    await asyncio.gather(proc.wait(), drain_to_eof(proc))


async def run_capture(
    argv: Sequence[str],
    *,
    # A parameter rather than the caller's asyncio.timeout: the error then names the
    # program and the limit, and the group is stopped before it propagates.
    timeout: float,  # noqa: ASYNC109
    max_output_bytes: int = 16 * 1024 * 1024,
    stderr_lines: int = 200,
) -> CompletedRun:
    """Run ``argv`` to its end, capturing stdout in full and the tail of stderr.

    ``timeout`` is in seconds, for the whole run. A non-zero exit is returned, not raised.
    Raises ``ProcessError`` when the executable is missing, the run exceeds ``timeout``, or
    stdout exceeds ``max_output_bytes``. On any error or cancellation the process group is
    stopped before the exception propagates.
    """
    program = Path(argv[0]).name if argv else ""
    started = time.monotonic()
    proc = await start_process(argv)
    tail = StderrTail(stderr_lines)
    finished = False
    try:
        async with asyncio.timeout(timeout):
            stdout, returncode = await _collect(proc, tail, max_output_bytes, program)
        finished = True
    except TimeoutError as err:
        raise ProcessError(f"{program} timed out after {timeout:g}s") from err
    finally:
        if not finished:
            await stop_process_group(proc)
            await drain_to_eof(proc)
    return CompletedRun(returncode, stdout, tail.text(), time.monotonic() - started)


async def _collect(proc: Child, tail: StderrTail, limit: int, program: str) -> tuple[bytes, int]:
    """Read stdout (capped) and stderr (into ``tail``) to EOF, then reap the process.

    Returns the stdout bytes and the exit status.
    """
    if proc.stdout is None or proc.stderr is None:
        raise ProcessError(f"{program} was started without piped output")
    stderr_task = asyncio.create_task(_drain_into(proc.stderr, tail))
    try:
        stdout = await _read_capped(proc.stdout, limit, program)
        await stderr_task
    finally:
        stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stderr_task
    return stdout, await proc.wait()


async def drain_to_eof(proc: Child) -> None:
    """Read what is left of a stopped process's pipes, so asyncio closes them.

    A pipe transport closes only at EOF; one abandoned mid-stream (output cap, timeout,
    cancellation) would otherwise stay open until garbage collection.
    """
    for stream in (proc.stdout, proc.stderr):
        if stream is None:
            continue
        with contextlib.suppress(TimeoutError, ValueError, RuntimeError):
            async with asyncio.timeout(_DRAIN_TIMEOUT):
                while await stream.read(_READ_CHUNK):
                    pass


async def _read_capped(stream: asyncio.StreamReader, limit: int, program: str) -> bytes:
    """Read ``stream`` to EOF; raise ``ProcessError`` once more than ``limit`` bytes came."""
    buffer = bytearray()
    while chunk := await stream.read(_READ_CHUNK):
        buffer += chunk
        if len(buffer) > limit:
            raise ProcessError(f"{program} output exceeded {limit} bytes")
    return bytes(buffer)


async def _drain_into(stream: asyncio.StreamReader, tail: StderrTail) -> None:
    """Read ``stream`` to EOF into ``tail``."""
    while chunk := await stream.read(_READ_CHUNK):
        tail.feed(chunk)
    tail.close()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to process group ``pgid``; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _not_found_message(executable: str) -> str:
    """Say which executable is missing, with an install hint for FFmpeg's own tools."""
    if Path(executable).name in _FFMPEG_PROGRAMS:
        return f"{executable} not found: install ffmpeg (it provides ffmpeg and ffprobe)"
    return f"{executable} not found"
