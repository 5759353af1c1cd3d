"""Live streaming end to end: the real server, the demo channels, real FFmpeg, real clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import m3u8
import pytest

from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import (
    PACKET_SIZE,
    SYNC_BYTE,
    PacketSplitter,
    continuity_counter,
    has_payload,
    pid,
)
from tests.e2e.test_first_run import Server
from tests.support import cpu_hogs

CAPTURE_BYTES = 1_500_000


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("stream") / "data")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def capture(url: str, size: int = CAPTURE_BYTES) -> tuple[bytes, float]:
    """The first ``size`` bytes of a stream and the seconds to its first byte."""
    started, first, data = time.monotonic(), 0.0, bytearray()
    with httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "video/mp2t"
        for chunk in response.iter_bytes():
            first = first or time.monotonic() - started
            data += chunk
            if len(data) >= size:
                break
    return bytes(data), first


def ffmpeg_children(server: Server) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        if int(stat[1]) == server.process.pid and command.endswith(b"ffmpeg"):
            found.append(int(entry.name))
    return found


def test_a_demo_channel_streams_clean_mpegts_quickly(streaming: Server, tmp_path: Path) -> None:
    data, first_byte = capture(f"{streaming.url}/iptv/channel/1.ts")
    assert first_byte < 3.0  # generous: the benchmark measures the real figure
    packets = list(PacketSplitter().feed(data[: len(data) // PACKET_SIZE * PACKET_SIZE]))
    assert packets and all(p[0] == SYNC_BYTE for p in packets)
    last: dict[int, int] = {}
    for packet in packets:
        if has_payload(packet):
            if pid(packet) in last:
                assert continuity_counter(packet) == (last[pid(packet)] + 1) & 0x0F
            last[pid(packet)] = continuity_counter(packet)
    target = tmp_path / "capture.ts"
    target.write_bytes(data)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,sample_rate",
         "-of", "csv=p=0", str(target)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"h264,1280,720", "aac,48000"}


def test_a_second_viewer_of_a_channel_starts_no_ffmpeg(streaming: Server) -> None:
    url = f"{streaming.url}/auto/v2"
    with (
        httpx.Client(timeout=30) as one,
        httpx.Client(timeout=30) as two,
        one.stream("GET", url) as first,
    ):
        next(first.iter_bytes())
        running = set(ffmpeg_children(streaming))
        assert running
        with two.stream("GET", url) as second:
            next(second.iter_bytes())
            assert len(set(ffmpeg_children(streaming)) - running) == 0


def test_live_metrics_count_viewers_and_bytes(streaming: Server) -> None:
    url = f"{streaming.url}/iptv/channel/2.ts"
    done = threading.Event()

    def watch() -> None:  # a viewer that keeps reading, as a player does
        with httpx.stream("GET", url, timeout=30) as response:
            for _ in response.iter_bytes():
                if done.is_set():
                    return

    viewers = [threading.Thread(target=watch) for _ in range(2)]
    for thread in viewers:
        thread.start()
    try:
        # Wait for the state asserted below: a viewer is counted when it joins, its bytes
        # once the first chunk has gone out to it (later on a cold channel).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = httpx.get(f"{streaming.url}/metrics").text
            with contextlib.suppress(AssertionError):  # a sample not exported yet
                if (
                    metric(text, "exstreamtv_live_viewers") == 2
                    and metric(text, 'exstreamtv_stream_bytes_total{channel="2"}') > 0
                    and metric(text, 'exstreamtv_stream_join_seconds_count{kind="ts"}') >= 2
                ):
                    break
            time.sleep(0.1)
        assert metric(text, "exstreamtv_live_viewers") == 2
        assert metric(text, "exstreamtv_live_channels") >= 1
        assert metric(text, 'exstreamtv_stream_bytes_total{channel="2"}') > 0
        assert metric(text, 'exstreamtv_stream_join_seconds_count{kind="ts"}') >= 2
    finally:
        done.set()
        for thread in viewers:
            thread.join(timeout=30)


def metric(text: str, name: str) -> float:
    """The value of the sample ``name`` (with its labels) in a Prometheus exposition."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_streamlink_plays_the_stream(streaming: Server, tmp_path: Path) -> None:
    output = tmp_path / "streamlink.ts"
    streamlink = Path(sys.executable).with_name("streamlink")
    argv = [str(streamlink), "--stdout", f"httpstream://{streaming.url}/iptv/channel/1.ts", "best"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(tmp_path)}) as player:  # fmt: skip
        assert player.stdout is not None
        output.write_bytes(player.stdout.read(500_000))
        player.terminate()
    assert output.stat().st_size == 500_000
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(output)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"h264", "aac"}


def probe_streams(target: str) -> set[str]:
    """The codec names ffprobe finds in a file or URL."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         target],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return set(probe.stdout.split())


def test_hls_playlist_is_live_and_ffprobe_reads_it(streaming: Server) -> None:
    url = f"{streaming.url}/iptv/channel/1.m3u8"
    response = httpx.get(url, timeout=30)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert response.headers["cache-control"] == "no-cache"
    lines = response.text.splitlines()
    assert lines[0] == "#EXTM3U" and "#EXT-X-ENDLIST" not in lines
    segment = httpx.get(httpx.URL(url).join(lines[-1]), timeout=30)
    assert segment.headers["content-type"] == "video/mp2t"
    assert segment.content[0] == SYNC_BYTE and len(segment.content) % PACKET_SIZE == 0
    assert probe_streams(url) == {"h264", "aac"}


@pytest.mark.parametrize("path", ["1.ts", "1.m3u8"])
def test_streamlink_plays_mpegts_and_hls(streaming: Server, tmp_path: Path, path: str) -> None:
    output = tmp_path / "streamlink.ts"
    streamlink = Path(sys.executable).with_name("streamlink")
    plugin = "hls" if path.endswith("m3u8") else "httpstream"
    argv = [str(streamlink), "--stdout", f"{plugin}://{streaming.url}/iptv/channel/{path}", "best"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(tmp_path)}) as player:  # fmt: skip
        assert player.stdout is not None
        output.write_bytes(player.stdout.read(300_000))
        player.terminate()
    assert output.stat().st_size == 300_000
    assert probe_streams(str(output)) == {"h264", "aac"}


@pytest.mark.parametrize("path", ["2.ts", "2.m3u8"])
def test_vlc_as_an_ordinary_user_plays_mpegts_and_hls(streaming: Server, path: str) -> None:
    """VLC refuses to run as root, so it runs as ``nobody`` here (as a desktop user would),
    recording what it demuxed so the test can check it. pytest's own temporary folders are
    private to root, so VLC writes to a world-writable folder of its own."""
    with tempfile.TemporaryDirectory(prefix="exstreamtv-vlc-") as folder:
        out = Path(folder)
        out.chmod(0o777)
        recorded = out / "recorded.ts"
        argv = ["cvlc", "-I", "dummy", "--run-time=6", "--play-and-exit",
                f"{streaming.url}/iptv/channel/{path}",
                "--sout", f"#std{{access=file,mux=ts,dst={recorded}}}"]  # fmt: skip
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "nobody", "--", *argv]
        subprocess.run(argv, capture_output=True, timeout=60, check=True, cwd=out)
        assert recorded.stat().st_size > 100_000
        assert probe_streams(str(recorded)) == {"h264", "aac"}


async def test_fifty_viewers_over_http_share_one_ffmpeg(streaming: Server) -> None:
    url = f"{streaming.url}/iptv/channel/1.ts"
    limits = httpx.Limits(max_connections=60)
    got: list[int] = []
    async with (
        httpx.AsyncClient(timeout=30, limits=limits) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        bodies = []
        for _ in range(50):
            response = await stack.enter_async_context(client.stream("GET", url))
            assert response.status_code == 200
            bodies.append(response.aiter_raw())

        async def read(body: AsyncIterator[bytes]) -> int:
            size = 0
            async for chunk in body:
                size += len(chunk)
                if size >= 200_000:
                    break
            return size

        samples: list[tuple[int, float]] = []  # (FFmpeg children, live channels before)
        seen_running = asyncio.Event()

        async def sample() -> None:
            text = (await client.get(f"{streaming.url}/metrics")).text
            live = metric(text, "exstreamtv_live_channels")
            children = len(await asyncio.to_thread(ffmpeg_children, streaming))
            samples.append((children, live))
            if children >= 1:
                seen_running.set()

        async def sample_processes() -> None:
            while True:
                await sample()
                await asyncio.sleep(0.2)

        async with asyncio.timeout(60):
            # One sample while all fifty are connected, whatever the speed of the reads.
            await sample()
            sampler = asyncio.create_task(sample_processes())
            got = list(await asyncio.gather(*(read(body) for body in bodies)))
            text = (await client.get(f"{streaming.url}/metrics")).text
            # The reads can end while the channel's buffer is full and its last FFmpeg has
            # exited: the fifty stay connected until the next one is seen running.
            await seen_running.wait()
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
    assert all(size >= 200_000 for size in got)
    assert metric(text, "exstreamtv_live_viewers") >= 50
    # Never more than one FFmpeg per live channel, however many viewers. A channel that is
    # idling out or between two items has fewer; channels only stop while this samples, so
    # the count read just before bounds the processes found.
    assert samples and all(children <= live for children, live in samples)
    assert any(children >= 1 for children, _ in samples)


def poll_live_hls(url: str, seconds: float) -> tuple[set[int], dict[int, bytes], list[str]]:
    """Poll a live playlist like a player for ``seconds``: the target durations seen, every
    segment fetched once (by sequence), and problems found in the playlists on the way."""
    targets: set[int] = set()
    segments: dict[int, bytes] = {}
    problems: list[str] = []
    last_sequence = -1
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            playlist = m3u8.loads(client.get(url).text)
            targets.add(playlist.target_duration)
            if playlist.media_sequence < last_sequence:
                problems.append(f"media sequence went back to {playlist.media_sequence}")
            last_sequence = playlist.media_sequence
            dates = [s.current_program_date_time for s in playlist.segments]
            for index, segment in enumerate(playlist.segments):
                sequence = playlist.media_sequence + index
                if round(segment.duration) > playlist.target_duration:
                    problems.append(f"segment {sequence} lasts {segment.duration}")
                if index and abs((dates[index] - dates[index - 1]).total_seconds()
                                 - playlist.segments[index - 1].duration) > 0.0011:  # fmt: skip
                    problems.append(f"segment {sequence}'s date does not follow the last")
                if sequence not in segments:
                    segments[sequence] = client.get(httpx.URL(url).join(segment.uri)).content
            time.sleep(1.0)
    return targets, segments, problems


def check_live_hls(streaming: Server, seconds: float) -> None:
    targets, segments, problems = poll_live_hls(f"{streaming.url}/iptv/channel/1.m3u8", seconds)
    assert len(targets) == 1 and problems == [], (targets, problems)
    assert len(segments) >= seconds / 5
    for sequence, data in sorted(segments.items()):
        report = check_stream(data)
        assert report.ok and report.clean_start, f"segment {sequence}: {report.summary()}"
    joined = b"".join(data for _, data in sorted(segments.items()))
    report = check_stream(joined)
    assert report.ok, report.summary()  # consecutive segments join seamlessly too


def test_a_live_hls_playlist_keeps_its_target_and_every_segment_is_clean(
    streaming: Server,
) -> None:
    check_live_hls(streaming, 20.0)


@pytest.mark.soak
def test_two_minutes_of_live_hls_keep_their_target_and_every_segment_is_clean(
    streaming: Server,
) -> None:
    check_live_hls(streaming, 120.0)


@pytest.mark.parametrize("path", ["1.ts", "1.m3u8"])
def test_vlc_playing_in_real_time_never_finds_the_pcr_late(
    streaming: Server, path: str, tmp_path: Path
) -> None:
    """VLC decoding at its own clock (no recording shortcut), with both cores busy: it
    complains "PCR is called too late" when data comes later than its clock expects."""
    argv = ["cvlc", "-I", "dummy", "--aout=dummy", "--vout=dummy", "--run-time=15",
            "--play-and-exit", f"{streaming.url}/iptv/channel/{path}"]  # fmt: skip
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "nobody", "--", *argv]
    with cpu_hogs(2):
        played = subprocess.run(
            argv, capture_output=True, text=True, timeout=90, check=True, cwd=tempfile.gettempdir()
        )  # fmt: skip
    log = played.stdout + played.stderr
    assert "PCR" not in log or "too late" not in log, log
    assert "mpeg4audio" in log  # it did demux the stream (AAC found)
