"""The slow-callback guard of the integration suites really fails a test whose callback
blocks the event loop, and passes one that waits without blocking."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = """
import asyncio
import os
import subprocess
import sys
import threading
import time

from tests.slow_callbacks import fail_on_slow_callbacks

__all__ = ["fail_on_slow_callbacks"]


async def test_blocking_sleep_in_a_coroutine() -> None:
    time.sleep(0.3)


async def test_blocking_callback_scheduled_on_the_loop() -> None:
    done = asyncio.Event()

    def block() -> None:
        time.sleep(0.25)
        done.set()

    asyncio.get_running_loop().call_soon(block)
    await done.wait()


async def test_busy_callback_on_the_cpu() -> None:
    done = asyncio.Event()

    def spin() -> None:
        started = time.thread_time()
        while time.thread_time() - started < 0.3:  # 300 ms of CPU, however loaded the host
            pass
        done.set()

    asyncio.get_running_loop().call_soon(spin)
    await done.wait()


async def test_short_callbacks_on_a_crowded_machine() -> None:
    def hog() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "while True: pass"])

    hogs = [await asyncio.to_thread(hog) for _ in range(4)]  # spawning waits: not on the loop
    try:
        for _ in range(10):  # 20 ms of CPU each: slow on the wall clock, never blocking
            started = time.thread_time()
            while time.thread_time() - started < 0.02:
                pass
            await asyncio.sleep(0)
    finally:
        for process in hogs:
            process.kill()
            await asyncio.to_thread(process.wait)


async def test_short_callbacks_beside_a_thread_that_holds_the_gil() -> None:
    def crunch() -> int:  # pure Python: holds the GIL for 5 ms at a time, for 0.6 s
        total, started = 0, time.perf_counter()
        while time.perf_counter() - started < 0.6:
            total += sum(range(1000))
        return total

    worker = asyncio.create_task(asyncio.to_thread(crunch))
    while not worker.done():  # each callback waits for the GIL: slow, never blocking
        started = time.thread_time()
        while time.thread_time() - started < 0.01:
            pass
        await asyncio.sleep(0)
    await worker


async def test_blocking_read_of_a_pipe() -> None:
    reader, writer = os.pipe()
    try:
        asyncio.get_running_loop().call_later(0, lambda: None)
        threading.Timer(0.3, os.write, (writer, b"x")).start()
        os.read(reader, 1)  # blocks the loop thread in the kernel for 0.3 s
    finally:
        os.close(reader)
        os.close(writer)


async def test_waiting_without_blocking() -> None:
    await asyncio.sleep(0.3)
    await asyncio.to_thread(time.sleep, 0.3)


def test_plain_function() -> None:
    time.sleep(0.01)
"""


def test_a_callback_blocking_over_100ms_fails_its_test_and_a_crowded_cpu_does_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_guard.py").write_text(SUITE, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
            "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function",
            "--rootdir", str(tmp_path), str(tmp_path / "test_guard.py"),
        ],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 1, report
    assert "8 passed, 4 errors" in report, report  # errors at teardown: the guard
    assert "ERROR test_guard.py::test_blocking_sleep_in_a_coroutine" in report
    assert "ERROR test_guard.py::test_blocking_read_of_a_pipe" in report
    assert "ERROR test_guard.py::test_busy_callback_on_the_cpu" in report
    assert "ERROR test_guard.py::test_blocking_callback_scheduled_on_the_loop" in report
    assert "blocked the event loop for over 0.1s" in report
