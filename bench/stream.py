"""Streaming benchmark against a real `exstreamtv serve` with the demo channels.

Prints:

* cold tune: time to the first byte and to the first keyframe (the first frame a player
  can show; target <= 0.3 s);
* warm join: time to the first keyframe on a running channel (target <= 200 ms);
* fan-out: the server's own CPU (beyond FFmpeg) with ``--viewers`` viewers of one
  channel (target <= 0.5 core for 200);
* overhead: the server's CPU per running channel next to its FFmpeg's CPU (target <= 3%
  of a core for the server);
* hls: time to the first playlist of a channel, cold and running;
* catch-up over HLS, a minute of a channel's past: its playlist, its first segment made on
  request, the next one (made ahead meanwhile) and a segment after a seek (target <= 2 s,
  what a player waits after a seek);
* soak: one viewer for ``--soak-minutes`` (10): transitions per minute, the worst PCR
  interval and DTS step and every conformance error of the whole capture (checked as it
  arrives, target 0), slate seconds, and the server's RSS at the start and the end
  (target: flat within 5%).

    .venv/bin/python bench/stream.py [--viewers 200] [--seconds 10] [--soak-minutes 10]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from exstreamtv.formats.conformance import Conformance
from exstreamtv.formats.mpegts import PacketSplitter, pid, random_access
from figures import Figure, add_json_option, report

VIDEO_PID = 0x100


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    env["EXSTREAMTV_HDHOMERUN__DISCOVERY_ENABLED"] = "false"
    env["EXSTREAMTV_FFMPEG__MAX_PROCESSES"] = "8"
    argv = [sys.executable, "-m", "exstreamtv", "serve", "--data-dir", str(data),
            "--port", str(port)]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    """Until the start-up work is done (``/readyz``), so it does not weigh on the figures."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


async def tune(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """Seconds to the first byte and to the first video keyframe."""
    started, first_byte = time.perf_counter(), 0.0
    splitter = PacketSplitter()
    async with client.stream("GET", url) as response:
        async for chunk in response.aiter_raw():
            first_byte = first_byte or time.perf_counter() - started
            for packet in splitter.feed(chunk):
                if pid(packet) == VIDEO_PID and random_access(packet):
                    return first_byte, time.perf_counter() - started
    raise SystemExit("the stream ended before a keyframe")


async def first_playlist(client: httpx.AsyncClient, url: str) -> float:
    """Seconds until the HLS playlist answers with a segment."""
    started = time.perf_counter()
    response = await client.get(url)
    response.raise_for_status()
    return time.perf_counter() - started


async def viewer(client: httpx.AsyncClient, url: str, stop: asyncio.Event) -> int:
    received = 0
    async with client.stream("GET", url) as response:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if stop.is_set():
                break
    return received


def cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """(server CPU seconds, CPU seconds of its FFmpeg children, running and finished)."""
    times = process.cpu_times()
    own = times.user + times.system
    children = times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            children += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return own, children


async def fan_out(
    url: str, channel: str, viewers: int, seconds: float, server: psutil.Process
) -> list[Figure]:
    limits = httpx.Limits(max_connections=viewers + 10)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        stop = asyncio.Event()
        base = await tune(client, f"{url}/iptv/channel/{channel}.ts")  # warm the channel
        tasks = [asyncio.create_task(viewer(client, f"{url}/iptv/channel/{channel}.ts", stop))
                 for _ in range(viewers)]  # fmt: skip
        await asyncio.sleep(2)  # all joined
        own0, ff0 = cpu_seconds(server)
        await asyncio.sleep(seconds)
        own1, ff1 = cpu_seconds(server)
        stop.set()
        received = await asyncio.gather(*tasks)
    print(f"fan-out: {sum(received) / 1e6:.0f} MB delivered to {viewers} viewers, FFmpeg "
          f"{100 * (ff1 - ff0) / seconds:.0f}% of a core; first tune {base[0]:.2f}s")  # fmt: skip
    share = 100 * (own1 - own0) / seconds
    return [Figure("stream.fan_out_server_cpu_pct", f"fan-out: server CPU, {viewers} viewers",
                   share, "% of a core", 50)]  # fmt: skip


def sample(text: str, name: str) -> float:
    """The value of a Prometheus sample (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def soak(url: str, channel: str, minutes: float, server: psutil.Process) -> list[Figure]:
    """One viewer for ``minutes``; every byte goes through the conformance checker."""
    checker = Conformance()
    metrics = f"{url}/metrics"
    transitions = "exstreamtv_stream_transition_gap_seconds_count"
    slates = f'exstreamtv_stream_slate_seconds_total{{channel="{channel}"}}'
    async with httpx.AsyncClient(timeout=30) as client:
        before = (await client.get(metrics)).text
        rss_start, started = 0, time.monotonic()
        async with client.stream("GET", f"{url}/iptv/channel/{channel}.ts") as response:
            async for chunk in response.aiter_raw():
                checker.feed(chunk)
                elapsed = time.monotonic() - started
                if not rss_start and elapsed >= 30:  # once the channel has settled
                    rss_start = server.memory_info().rss
                if elapsed >= minutes * 60:
                    break
        rss_end = server.memory_info().rss
        after = (await client.get(metrics)).text
    found = checker.report
    spliced = sample(after, transitions) - sample(before, transitions)
    print(f"soak: {minutes:.0f} min, {spliced / minutes:.1f} transitions/min, worst DTS step "
          f"{found.max_dts_step * 1000:.0f} ms, slate "
          f"{sample(after, slates) - sample(before, slates):.0f} s")  # fmt: skip
    if found.problems:
        print("      first problems: " + "; ".join(found.problems[:5]))
    growth = 100 * (rss_end - rss_start) / max(1, rss_start)
    return [
        Figure("stream.soak_conformance_errors", "soak: conformance errors", found.errors,
               "errors", 0),
        Figure("stream.soak_worst_pcr_ms", "soak: worst PCR interval",
               found.max_pcr_interval * 1000, "ms", 100),
        Figure("stream.soak_rss_growth_pct", "soak: server RSS change, start to end",
               abs(growth), "%", 5),
    ]  # fmt: skip


async def catch_up(url: str, since: float) -> list[Figure]:
    """A minute of channel 1 from ``since`` (epoch s, after its playout began), once aired."""
    start = int(since) + 2
    await asyncio.sleep(max(0.0, start + 62 - time.time()))
    query = f"start={start}&end={start + 60}"
    async with httpx.AsyncClient(timeout=60) as client:

        async def timed(path: str) -> tuple[float, httpx.Response]:
            began = time.monotonic()
            answer = await client.get(f"{url}/iptv/channel/1/{path}")
            answer.raise_for_status()
            return time.monotonic() - began, answer

        listed, playlist = await timed(f"catchup.m3u8?{query}")
        uris = [line for line in playlist.text.splitlines() if line.startswith("catchup/")]
        first, _ = await timed(uris[0])
        await asyncio.sleep(1.0)  # a player reads the first segment before it asks again
        following, _ = await timed(uris[1])
        seek, _ = await timed(uris[7])
    return [
        Figure("stream.catchup_playlist_ms", "catch-up HLS: the playlist of a minute",
               listed * 1000, "ms"),
        Figure("stream.catchup_first_segment_ms", "catch-up HLS: first segment (6 s), made",
               first * 1000, "ms", 2000),
        Figure("stream.catchup_next_segment_ms", "catch-up HLS: next segment, made ahead",
               following * 1000, "ms"),
        Figure("stream.catchup_seek_segment_ms", "catch-up HLS: a segment after a seek",
               seek * 1000, "ms", 2000),
    ]  # fmt: skip


async def run(args: argparse.Namespace) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="exstreamtv-stream-") as work:
        port = 18400 + os.getpid() % 500
        url = f"http://127.0.0.1:{port}"
        server = start_server(Path(work) / "data", port)
        try:
            wait_ready(url, server)
            ready = time.time()
            process = psutil.Process(server.pid)
            async with httpx.AsyncClient(timeout=30) as client:
                cold = await tune(client, f"{url}/iptv/channel/1.ts")
                async with client.stream("GET", f"{url}/iptv/channel/1.ts"):  # a viewer stays
                    warm = await tune(client, f"{url}/iptv/channel/1.ts")
                    own0, ff0 = cpu_seconds(process)
                    await asyncio.sleep(args.seconds)
                    own1, ff1 = cpu_seconds(process)
            print(f"one channel's FFmpeg: {100 * (ff1 - ff0) / args.seconds:.0f}% of a core")
            async with httpx.AsyncClient(timeout=30) as client:
                hls_cold = await first_playlist(client, f"{url}/iptv/channel/2.m3u8")
                hls_warm = await first_playlist(client, f"{url}/iptv/channel/2.m3u8")
            figures = [
                Figure("stream.cold_first_byte_ms", "cold tune: first byte", cold[0] * 1000,
                       "ms"),
                Figure("stream.cold_first_frame_ms", "cold tune: first keyframe",
                       cold[1] * 1000, "ms", 300),
                Figure("stream.warm_first_frame_ms", "warm join: first keyframe",
                       warm[1] * 1000, "ms", 200),
                Figure("stream.server_cpu_pct", "server CPU for one running channel",
                       100 * (own1 - own0) / args.seconds, "% of a core", 3),
                Figure("stream.hls_cold_ms", "HLS: first playlist, cold", hls_cold * 1000,
                       "ms"),
                Figure("stream.hls_warm_ms", "HLS: first playlist, running", hls_warm * 1000,
                       "ms"),
            ]  # fmt: skip
            figures += await fan_out(url, "2", args.viewers, args.seconds, process)
            figures += await catch_up(url, ready)
            if args.soak_minutes > 0:
                figures += await soak(url, "1", args.soak_minutes, process)
            return figures
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    add_json_option(parser)
    args = parser.parse_args()
    report(asyncio.run(run(args)), args.json)


if __name__ == "__main__":
    main()
