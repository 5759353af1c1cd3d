"""The process runner against real child processes: groups, timeouts, caps, cancellation."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.errors import ProcessError
from exstreamtv.ffmpeg import process
from exstreamtv.ffmpeg.process import StderrTail, run_capture, start_process, stop_process_group
from tests.support import alive, gone_within, orphan_of_a_killed_server

# A child that starts a grandchild in its own process group, reports both pids to the test's
# loopback listener once the grandchild is up, then sleeps. With "ignore-term" both ignore
# SIGTERM, so only SIGKILL ends them.
FAMILY = textwrap.dedent(
    """
    import os, signal, socket, subprocess, sys, time
    if sys.argv[2] == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    grandchild.stdout.readline()
    with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as ready:
        ready.sendall(f"{os.getpid()} {grandchild.pid}\\n".encode())
    time.sleep(60)
    """
)


@dataclass
class ReadyLines:
    """A loopback listener: children connect to ``port`` and send one line when ready."""

    port: int
    lines: asyncio.Queue[str]

    async def next_pids(self) -> list[int]:
        """Wait (bounded) for the next child to report its pids."""
        async with asyncio.timeout(10):
            line = await self.lines.get()
        return [int(pid) for pid in line.split()]


@pytest.fixture
async def ready() -> AsyncIterator[ReadyLines]:
    lines: asyncio.Queue[str] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines.put_nowait((await reader.readline()).decode())
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    async with server:
        yield ReadyLines(server.sockets[0].getsockname()[1], lines)


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


def family(ready: ReadyLines, *, ignore_term: bool) -> list[str]:
    return python(FAMILY, str(ready.port), "ignore-term" if ignore_term else "obey-term")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields after ``(comm)`` in /proc/<pid>/stat: state, ppid, pgrp, ...; None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that have not exited (zombies count as exited)."""
    members = []
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@contextmanager
def exit_watch(pids: Sequence[int]) -> Iterator[list[int]]:
    """pidfds for ``pids`` (readable once the process exits); a pid already gone is skipped."""
    fds = []
    for pid in pids:
        try:
            fds.append(os.pidfd_open(pid))
        except ProcessLookupError:
            continue
    try:
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def all_exited(fds: Sequence[int]) -> None:
    """Wait until every pidfd reports its process exited; a hang fails the test."""
    loop = asyncio.get_running_loop()
    waiters = []
    for fd in fds:
        exited: asyncio.Future[None] = loop.create_future()
        loop.add_reader(fd, _resolve, exited)
        waiters.append(exited)
    try:
        async with asyncio.timeout(5):
            await asyncio.gather(*waiters)
    finally:
        for fd in fds:
            loop.remove_reader(fd)


async def test_run_capture_returns_stdout_exit_status_and_elapsed_seconds() -> None:
    run = await run_capture(
        python("import sys; sys.stdout.write('hello'); sys.exit(3)"), timeout=10
    )

    assert run.returncode == 3
    assert run.stdout == b"hello"
    assert 0 < run.elapsed < 10


async def test_stderr_tail_keeps_only_the_last_lines_of_a_chatty_child() -> None:
    chatty = "import sys\nfor i in range(5000): print(f'line {i}', file=sys.stderr)"

    run = await run_capture(python(chatty), timeout=10, stderr_lines=3)

    assert run.stderr_tail == "line 4997\nline 4998\nline 4999"


async def test_stderr_tail_cuts_an_endless_line_to_a_bounded_size() -> None:
    endless = "import sys; sys.stderr.write('x' * 2_000_000)"

    run = await run_capture(python(endless), timeout=10)

    assert run.stderr_tail == "x" * 4096


@given(
    lines=st.lists(
        st.text(st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]), max_size=20),
        max_size=30,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
    keep=st.integers(min_value=0, max_value=5),
)
def test_stderr_tail_is_the_last_lines_however_the_stream_is_chunked(
    lines: list[str], cuts: list[int], keep: int
) -> None:
    stream = "".join(f"{line}\n" for line in lines).encode()
    tail = StderrTail(keep)
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        tail.feed(stream[previous : max(previous, cut)])
        previous = max(previous, cut)
    tail.close()

    assert tail.text() == "\n".join(lines[max(0, len(lines) - keep) :] if keep else [])


async def test_output_beyond_the_cap_raises_and_the_child_is_stopped(ready: ReadyLines) -> None:
    flood = textwrap.dedent(
        """
        import os, socket, sys
        with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as ready:
            ready.sendall(b"%d\\n" % os.getpid())
        while True:
            sys.stdout.buffer.write(b"x" * 65536)
        """
    )
    run = asyncio.create_task(
        run_capture(python(flood, str(ready.port)), timeout=10, max_output_bytes=1_000_000)
    )
    [pid] = await ready.next_pids()

    with pytest.raises(ProcessError, match="output exceeded 1000000 bytes"):
        await run
    assert live_group_members(pid) == []


async def test_timeout_raises_and_no_process_of_the_group_survives(ready: ReadyLines) -> None:
    run = asyncio.create_task(run_capture(family(ready, ignore_term=False), timeout=0.5))
    pids = await ready.next_pids()

    with exit_watch(pids) as fds:
        with pytest.raises(ProcessError, match=r"timed out after 0\.5s"):
            await run
        await all_exited(fds)
    assert live_group_members(pids[0]) == []


async def test_cancelling_the_caller_stops_child_and_grandchild(ready: ReadyLines) -> None:
    run = asyncio.create_task(run_capture(family(ready, ignore_term=False), timeout=60))
    pids = await ready.next_pids()

    with exit_watch(pids) as fds:
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        await all_exited(fds)
    assert live_group_members(pids[0]) == []


async def test_stop_kills_a_group_that_ignores_term_after_the_grace_period(
    ready: ReadyLines,
) -> None:
    proc = await start_process(family(ready, ignore_term=True))
    pids = await ready.next_pids()

    with exit_watch(pids) as fds:
        started = time.monotonic()
        await stop_process_group(proc, grace=0.3)
        waited = time.monotonic() - started
        await all_exited(fds)

    assert proc.returncode == -signal.SIGKILL
    assert waited >= 0.3
    assert live_group_members(pids[0]) == []


async def test_stop_ends_an_obedient_group_without_waiting_for_the_grace_period(
    ready: ReadyLines,
) -> None:
    proc = await start_process(family(ready, ignore_term=False))
    pids = await ready.next_pids()

    with exit_watch(pids) as fds:
        started = time.monotonic()
        await stop_process_group(proc, grace=30)
        await all_exited(fds)

    assert time.monotonic() - started < 5
    assert proc.returncode == -signal.SIGTERM


async def test_stopping_a_process_that_already_exited_is_harmless() -> None:
    proc = await start_process(python("pass"))
    await proc.wait()

    await stop_process_group(proc, grace=0.1)

    assert proc.returncode == 0


async def test_missing_executable_raises_process_error_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-tool")

    with pytest.raises(ProcessError, match=f"{missing} not found"):
        await run_capture([missing, "--help"], timeout=5)


async def test_missing_ffprobe_suggests_installing_ffmpeg(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="ffprobe not found: install ffmpeg"):
        await run_capture([str(tmp_path / "ffprobe")], timeout=5)


async def test_empty_argv_is_refused() -> None:
    with pytest.raises(ProcessError, match="empty argv"):
        await run_capture([], timeout=5)


async def test_a_process_blocked_on_unread_output_is_stopped_promptly() -> None:
    """Python 3.11 only reports an exit once every pipe reached EOF: stopping must drain."""
    flood = python("import sys\nwhile True: sys.stdout.write('x' * 65536)")
    proc = await start_process(flood)
    assert proc.stdout is not None
    await proc.stdout.read(1)  # it runs and its pipe fills: nobody reads any more
    async with asyncio.timeout(5):
        await stop_process_group(proc)
    assert proc.returncode is not None


@pytest.mark.parametrize("die_with_parent", [False, True])
async def test_a_missing_program_is_named_however_it_is_started(
    tmp_path: Path, die_with_parent: bool
) -> None:
    missing = str(tmp_path / "ffmpeg")

    with pytest.raises(ProcessError, match=f"{missing} not found: install ffmpeg"):
        await start_process([missing, "-version"], die_with_parent=die_with_parent)


@pytest.mark.parametrize("die_with_parent", [False, True])
async def test_a_file_that_cannot_run_is_reported_as_not_executable(
    tmp_path: Path, die_with_parent: bool
) -> None:
    plain = tmp_path / "tool"
    plain.write_text("not a program")

    with pytest.raises(ProcessError, match=f"{plain} is not executable"):
        await start_process([str(plain)], die_with_parent=die_with_parent)


async def test_a_child_dying_with_its_parent_is_the_program_itself() -> None:
    """The death signal is set without a second process: the pid, group and pipes are the
    program's own (it reports its own pid and is the leader of its group)."""
    report = "import os; print(os.getpid(), os.getpgid(0), os.getsid(0), flush=True)"
    proc = await start_process(python(report), die_with_parent=True)
    assert proc.stdout is not None
    async with asyncio.timeout(10):
        line = (await proc.stdout.readline()).decode()
        await proc.wait()
    assert [int(field) for field in line.split()] == [proc.pid] * 3


def test_without_setpriv_children_still_die_with_a_killed_server(tmp_path: Path) -> None:
    """The fallback for systems without util-linux's setpriv: a PATH that holds the
    program but no setpriv still gives a child that dies with its server."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sleeper").symlink_to(Path(sys.executable))
    env = {**os.environ, "PATH": str(bin_dir)}
    child = orphan_of_a_killed_server(["sleeper", "-c", "import time; time.sleep(60)"], env)
    assert gone_within(child, 10)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_a_start_cancelled_before_the_wrapper_execs_leaves_no_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While setpriv has not exec'd the program yet (slow on a crowded machine), the start
    can be cancelled: the child must not be left running, unowned."""
    marker = f"cancelled-start-{os.getpid()}"
    waiting = asyncio.Event()

    async def slow_exec(_pid: int, _wrapper: str) -> None:
        waiting.set()
        await asyncio.Event().wait()  # the wrapper never gets to exec the program

    monkeypatch.setattr(process, "_until_exec", slow_exec)
    starting = asyncio.create_task(
        start_process(python(f"import time; time.sleep(60)  # {marker}"), die_with_parent=True)
    )
    await waiting.wait()
    assert _processes_with(marker)  # spawned, not yet handed to the caller
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert await asyncio.to_thread(_none_with, marker)


def _none_with(marker: str) -> bool:
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _processes_with(marker)


def slow_popen(
    monkeypatch: pytest.MonkeyPatch, seconds: float, started: list[int]
) -> threading.Event:
    """Make the fork/exec take ``seconds`` (as on a crowded machine), then really start;
    the event is set once it has."""
    real = process._popen
    done = threading.Event()

    def slow(command: list[str], hook: object) -> object:
        time.sleep(seconds)
        child = real(command, hook)  # type: ignore[arg-type]
        started.append(child.pid)
        done.set()
        return child

    monkeypatch.setattr(process, "_popen", slow)
    return done


async def test_a_slow_exec_does_not_hold_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exec that takes 1 s (a crowded machine) while the loop ticks every 10 ms: the
    loop never waits for it (on the loop thread, every channel's pacing would stall). The
    bound leaves half a second for the machine's own noise."""
    started: list[int] = []
    slow_popen(monkeypatch, 1.0, started)
    worst, ticking = 0.0, True

    async def tick() -> None:
        nonlocal worst
        while ticking:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - before - 0.01)

    ticker = asyncio.create_task(tick())
    proc = await start_process(python("print('hi')"), die_with_parent=True)
    ticking = False
    await ticker
    assert proc.stdout is not None and await proc.stdout.read() == b"hi\n"
    assert await proc.wait() == 0 and started == [proc.pid]
    assert worst < 0.5, f"the loop was held {worst:.3f} s"


async def test_a_start_cancelled_during_a_slow_exec_leaves_no_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = f"cancelled-exec-{os.getpid()}"
    started: list[int] = []
    spawned = slow_popen(monkeypatch, 0.3, started)
    starting = asyncio.create_task(
        start_process(python(f"import time; time.sleep(60)  # {marker}"), die_with_parent=True)
    )
    await asyncio.sleep(0.1)  # the exec is under way on its thread
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert await asyncio.to_thread(spawned.wait, 10)  # the exec completes after all
    assert await asyncio.to_thread(_none_with, marker)


def test_a_loop_closing_during_a_start_leaves_no_child_and_no_open_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server (or a test) shutting down while an FFmpeg is being exec'd: the loop's end
    cancels even the shielded start, and the child comes on the spawner thread to no one.
    It is killed and reaped there, its pipes closed: no process left running, and no
    subprocess or pipe found open by the garbage collector (warnings are errors here)."""
    marker = f"closing-loop-{os.getpid()}"
    started: list[int] = []
    spawned = slow_popen(monkeypatch, 0.3, started)

    async def shutting_down() -> None:
        command = python(f"import time; time.sleep(60)  # {marker}")
        asyncio.get_running_loop().create_task(start_process(command, die_with_parent=True))
        await asyncio.sleep(0.1)  # the exec is under way on its thread; now the loop ends

    asyncio.run(shutting_down())
    assert spawned.wait(10)  # the exec completed after the loop closed
    assert _none_with(marker)
    gc.collect()  # a dropped running Popen or an unclosed pipe would warn now
