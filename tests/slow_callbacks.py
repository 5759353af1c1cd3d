"""Fail a test when an event-loop callback blocks the loop for more than 100 ms.

The integration suites (``tests/e2e``, ``tests/playback``, ``tests/services``) import
:func:`fail_on_slow_callbacks` into their ``conftest.py``. It runs the test's loop in debug
mode with ``slow_callback_duration = 0.1`` (so asyncio logs "Executing <handle> took N
seconds" for every slow callback) and times every callback of that loop itself.

Wall time alone is not a fair judge on a loaded machine (CI has 2 cores and runs FFmpeg
next to the tests): a callback that runs for 5 ms can take 300 ms of wall time while the
loop thread waits for a CPU. So a callback fails the test when its wall time *minus the
time the loop thread spent waiting on the run queue* (``run_delay`` in
``/proc/thread-self/schedstat``) exceeds 100 ms. What is left is time the loop thread was
running Python or blocked in a system call (``time.sleep``, disk, a pipe, waiting for a
forked child to exec): real blocking. Where schedstat is unavailable, wall time is used.

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
    """Records where the loop thread is while a callback runs past the limit, so a failure
    names the blocking line, not only the callback."""

    def __init__(self, loop_thread: int) -> None:
        super().__init__(daemon=True, name="slow-callback-sampler")
        self._loop_thread = loop_thread
        self._done = threading.Event()
        self.started: float | None = None
        self.stack = ""

    def run(self) -> None:
        while not self._done.wait(0.02):
            started = self.started
            if started is None or self.stack or time.perf_counter() - started < SLOW_CALLBACK_SEC:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None:
                self.stack = "".join(traceback.format_stack(frame)[-6:])

    def stop(self) -> None:
        self._done.set()
        self.join()


def _describe(handle: asyncio.Handle) -> str:
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    return repr(owner if isinstance(owner, asyncio.Task) else handle)[:300]


@contextlib.contextmanager
def timing_callbacks(loop: asyncio.AbstractEventLoop, into: SlowCallbacks) -> Iterator[None]:
    """Time every callback ``loop`` runs (in its own thread) while the block is open."""
    waited, close = _run_queue_clock()
    original = asyncio.Handle._run
    sampler = _Sampler(threading.get_ident())
    sampler.start()
    timing = threading.Event()  # cleared on exit: the callback running the exit is not timed
    timing.set()

    def timed(handle: asyncio.Handle) -> None:
        if handle._loop is not loop:  # type: ignore[attr-defined]
            original(handle)
            return
        sampler.stack = ""
        start, queued = time.perf_counter(), waited()
        sampler.started = start
        try:
            original(handle)
        finally:
            sampler.started = None
            wall = time.perf_counter() - start
            if wall > SLOW_CALLBACK_SEC and timing.is_set():
                blocking = wall - (waited() - queued)
                if blocking > SLOW_CALLBACK_SEC:
                    into.found.append((f"{_describe(handle)}\n{sampler.stack}", wall, blocking))

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
            f"ran {wall:.3f}s, {blocking:.3f}s of it blocking: {what}"
            for what, wall, blocking in slow.found[:5]
        )
        pytest.fail(f"a callback blocked the event loop for over {SLOW_CALLBACK_SEC}s:\n  {shown}")
