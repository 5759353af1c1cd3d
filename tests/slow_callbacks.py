"""Fail a test when an event-loop callback blocks the loop for more than 100 ms.

The integration suites (``tests/e2e``, ``tests/playback``, ``tests/services``) import
:func:`fail_on_slow_callbacks` into their ``conftest.py``. It runs the test's loop in debug
mode with ``slow_callback_duration = 0.1`` (so asyncio logs "Executing <handle> took N
seconds" for every slow callback) and judges every callback of that loop itself.

Wall time is not a fair judge on a loaded machine (CI has 2 cores and runs FFmpeg next to
the tests): a callback that runs for 5 ms can take 300 ms of wall time while the loop
thread waits for a CPU, or for the GIL that a worker thread holds. Neither is the
callback's doing, so neither may fail a test. What a callback *does* cost is counted:

* its own CPU time (``time.thread_time``: the loop thread running Python or C code);
* the time the loop thread spends *blocked* in the kernel, found by a sampler thread that
  reads the thread's state and wait channel (``/proc/self/task/<tid>/stat`` and
  ``wchan``) every 5 ms while a callback runs: asleep (``S``) or in uninterruptible I/O
  (``D``) anywhere but a futex. ``time.sleep``, a blocking read, disk I/O or waiting for a
  child process count; a futex wait is the GIL (or a thread lock) and does not; waiting on
  the run queue (``R``) does not either.

A callback fails its test when CPU plus blocked time exceeds 100 ms. Each sample credits at
most two sampling periods, so a sampler that is itself starved can only undercount. Where
the kernel gives no wait channel, the wall time minus the run-queue wait (``schedstat``)
is used instead.

The garbage collector runs with the thresholds the server sets at start-up
(``runtime.GC_THRESHOLDS``). With CPython's defaults, a full collection walks the whole test
runner's heap inside whichever callback happens to allocate (about 100 ms here), which says
nothing about the code under test. (The server also freezes its start-up objects; tests do
not, as freezing hides objects from ``gc.get_referrers``, which Hypothesis relies on.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from exstreamtv.runtime import GC_THRESHOLDS

SLOW_CALLBACK_SEC = 0.1
SAMPLE_SEC = 0.005
_SCHEDSTAT = "/proc/thread-self/schedstat"


@dataclass
class SlowCallbacks:
    """The callbacks of one loop that blocked it, as ``(what, wall s, blocking s)``."""

    found: list[tuple[str, float, float]] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)


class _AsyncioWarnings(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self._into = into

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing ") and " took " in message:
            self._into.append(message)


def _run_queue_clock() -> tuple[Callable[[], float], Callable[[], None]]:
    """A reader of this thread's run-queue wait (seconds) and a closer; (0, no-op) when the
    kernel does not report it."""
    try:
        fd = os.open(_SCHEDSTAT, os.O_RDONLY)
    except OSError:
        return (lambda: 0.0), (lambda: None)

    def waited() -> float:
        return int(os.pread(fd, 128, 0).split()[1]) / 1e9

    return waited, lambda: os.close(fd)


class _Sampler(threading.Thread):
    """While a callback runs: adds up the time the loop thread is blocked in the kernel
    (module docstring), and records where it is once the callback runs past the limit, so
    a failure names the blocking line, not only the callback."""

    def __init__(self, loop_thread: int, native_id: int) -> None:
        super().__init__(daemon=True, name="slow-callback-sampler")
        self._loop_thread = loop_thread
        self._done = threading.Event()
        self._files = _task_files(native_id)
        self.kernel = self._files is not None
        self.started: float | None = None
        self.blocked = 0.0
        self.stack = ""

    def begin(self) -> None:
        self.blocked, self.stack = 0.0, ""
        self.started = time.perf_counter()

    def end(self) -> float:
        """Stop sampling; returns the blocked seconds counted for the callback."""
        self.started = None
        return self.blocked

    def run(self) -> None:
        last = time.perf_counter()
        while not self._done.wait(SAMPLE_SEC):
            now = time.perf_counter()
            elapsed, last = min(now - last, 2 * SAMPLE_SEC), now
            started = self.started
            if started is None:
                continue
            if self.kernel and self._blocked():
                self.blocked += elapsed
            if not self.stack and now - started >= SLOW_CALLBACK_SEC:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    self.stack = "".join(traceback.format_stack(frame)[-6:])

    def _blocked(self) -> bool:
        """Whether the loop thread sleeps in the kernel on something other than a futex."""
        if self._files is None:
            return False
        stat, wchan = self._files
        try:
            state = os.pread(stat, 1024, 0).rsplit(b") ", 1)[1][:1]
            channel = os.pread(wchan, 128, 0)
        except (OSError, IndexError):
            return False
        return state in (b"S", b"D") and b"futex" not in channel

    def stop(self) -> None:
        self._done.set()
        self.join()
        for fd in self._files or ():
            os.close(fd)


def _task_files(native_id: int) -> tuple[int, int] | None:
    """Open descriptors of a thread's ``stat`` and ``wchan``; ``None`` when the kernel does
    not report a wait channel (then the guard falls back to wall minus run-queue time)."""
    task = f"/proc/self/task/{native_id}"
    try:
        stat = os.open(f"{task}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        wchan = os.open(f"{task}/wchan", os.O_RDONLY)
        readable = os.pread(wchan, 128, 0) is not None
    except OSError:
        os.close(stat)
        return None
    return (stat, wchan) if readable else None


def _describe(handle: asyncio.Handle) -> str:
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    return repr(owner if isinstance(owner, asyncio.Task) else handle)[:300]


@contextlib.contextmanager
def timing_callbacks(loop: asyncio.AbstractEventLoop, into: SlowCallbacks) -> Iterator[None]:
    """Judge every callback ``loop`` runs (in its own thread) while the block is open."""
    waited, close = _run_queue_clock()
    original = asyncio.Handle._run
    sampler = _Sampler(threading.get_ident(), threading.get_native_id())
    sampler.start()
    timing = threading.Event()  # cleared on exit: the callback running the exit is not timed
    timing.set()

    def timed(handle: asyncio.Handle) -> None:
        if handle._loop is not loop:  # type: ignore[attr-defined]
            original(handle)
            return
        start, cpu, queued = time.perf_counter(), time.thread_time(), waited()
        sampler.begin()
        try:
            original(handle)
        finally:
            blocked = sampler.end()
            wall = time.perf_counter() - start
            if wall > SLOW_CALLBACK_SEC and timing.is_set():
                if sampler.kernel:
                    cost = time.thread_time() - cpu + blocked
                else:
                    cost = wall - (waited() - queued)
                if cost > SLOW_CALLBACK_SEC:
                    into.found.append((f"{_describe(handle)}\n{sampler.stack}", wall, cost))

    asyncio.Handle._run = timed  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        timing.clear()
        asyncio.Handle._run = original  # type: ignore[method-assign]
        sampler.stop()
        close()


@pytest.fixture(autouse=True)
async def fail_on_slow_callbacks() -> AsyncIterator[SlowCallbacks]:
    """Debug mode, a 100 ms limit, and a failure for each blocking callback (see above)."""
    loop = asyncio.get_running_loop()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    debug, limit = loop.get_debug(), loop.slow_callback_duration
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SEC
    slow = SlowCallbacks()
    handler = _AsyncioWarnings(slow.logged)
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        with timing_callbacks(loop, slow):
            yield slow
    finally:
        logger.removeHandler(handler)
        gc.set_threshold(*thresholds)
        loop.set_debug(debug)
        loop.slow_callback_duration = limit
    if slow.found:
        shown = "\n  ".join(
            f"ran {wall:.3f}s, {blocking:.3f}s of it its own (CPU or blocked): {what}"
            for what, wall, blocking in slow.found[:5]
        )
        pytest.fail(f"a callback blocked the event loop for over {SLOW_CALLBACK_SEC}s:\n  {shown}")
