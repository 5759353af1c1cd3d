"""Catch-up replays the past exactly as it aired: clips that name themselves in every frame
air on a channel; once two programmes have aired, a replay of the first from its start
shows it from its first frame, plays through the boundary into the second exactly where
the guide put it, ends at the span's end and passes the TS checker. Viewers of one span
share one producer and one tuner; the refusals take no tuner."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import m3u8
import pytest
from ipytv import playlist  # type: ignore[import-untyped]  # no stubs or py.typed

from exstreamtv.domain.catchup import CatchupSpan, parse_span
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import EntryKind, from_ms
from exstreamtv.domain.profiles import ProfileMode
from exstreamtv.errors import Gone, InvalidInput, NotFound
from exstreamtv.formats.conformance import check_stream
from exstreamtv.playback.hls import WINDOW
from exstreamtv.playback.session import START_MEDIA_MS, ChannelSession
from exstreamtv.services.container import Container, open_container
from exstreamtv.store.playouts import ListedEntry
from tests.identity import Seen, make_identity_clip, read_frames
from tests.services.test_guide_truth import FPS, database_url, settings, tune_in
from tests.support import build_settings
from tests.web.client import open_client

__all__ = ["database_url", "settings"]  # SQLite only, as for the live guide's truth

FRAME = 1 / FPS


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("catchup")
    return [make_identity_clip(folder / f"c{n}.mp4", n, 4) for n in (1, 2, 3)]


async def aired(container: Container, channel: ChannelNumber, programmes: int) -> list[ListedEntry]:
    """Wait until ``programmes`` content entries have finished airing; returns them."""
    now = container.clock.now()
    listed = await container.playouts.entries(
        channel, now - timedelta(minutes=1), now + timedelta(minutes=5)
    )
    content = [e for e in listed if e.entry.kind is EntryKind.CONTENT][:programmes]
    wait = (content[-1].entry.finish - container.clock.now()).total_seconds() + 0.5
    await asyncio.sleep(max(0.0, wait))
    return content


async def drain(chunks: AsyncIterator[bytes], limit: float) -> bytes:
    data = bytearray()
    async with asyncio.timeout(limit):
        async for chunk in chunks:
            data += chunk
    return bytes(data)


def assert_as_aired(
    frames: list[Seen], listed: list[ListedEntry], start: datetime, clips: dict[int, int]
) -> None:
    """Every frame, placed in time by its PTS from the first one at ``start``, is the
    frame of the clip that aired then, to two frames."""
    slack = timedelta(seconds=FRAME)
    for frame in frames:
        aired_at = start + timedelta(seconds=frame.pts - frames[0].pts)
        entry = next(e for e in listed if e.entry.start - slack <= aired_at < e.entry.finish)
        offset = (aired_at - entry.entry.start).total_seconds()
        assert clips[entry.entry.media_id or 0] == frame.clip, (frame, aired_at)
        assert abs(frame.frame / FPS - offset) <= 2 * FRAME, (frame, offset)


def unix(moment: datetime) -> str:
    return str(int(moment.timestamp()))


async def test_a_past_programme_replays_from_its_first_frame_through_the_next(
    container: Container, clips: list[Path], tmp_path: Path
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    first, second = await aired(container, tuned.channel.number, 2)
    end = second.entry.start + timedelta(seconds=2)

    replay = await container.catchup.open(tuned.channel.number, unix(first.entry.start), unix(end))
    assert container.streaming.tuners.status().in_use == 1
    data = await drain(aiter(replay), 60)  # the replay ends by itself at its end
    assert container.streaming.tuners.status().in_use == 0

    capture = tmp_path / "replay.ts"
    capture.write_bytes(data)
    frames = await asyncio.to_thread(read_frames, capture)
    clip_of = tuned.clips
    assert (frames[0].clip, frames[0].frame) == (clip_of[first.entry.media_id or 0], 0)
    boundary = next(f for f in frames if f.clip == clip_of[second.entry.media_id or 0])
    listed_gap = (second.entry.start - first.entry.start).total_seconds()
    assert boundary.frame == 0
    assert abs(boundary.pts - frames[0].pts - listed_gap) <= FRAME + 1e-3
    for before, after in itertools.pairwise(frames):
        if after.clip == before.clip:
            assert after.frame == before.frame + 1, (before, after)
    played = frames[-1].pts - frames[0].pts + FRAME
    assert abs(played - (end - first.entry.start).total_seconds()) <= 2 * FRAME
    report = check_stream(data)
    assert report.ok, report


async def test_the_playlists_template_filled_in_as_an_app_would_plays_that_programme(
    container: Container, clips: list[Path], tmp_path: Path
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    (first,) = await aired(container, tuned.channel.number, 1)
    async with open_client(container) as client:
        parsed = playlist.loads((await client.get("/iptv/channels.m3u")).text)
        (channel,) = parsed.get_channels()
        assert channel.attributes["catchup"] == "default"
        template = channel.attributes["catchup-source"]
        url = template.replace("{utc}", unix(first.entry.start))
        url = url.replace("{utcend}", unix(first.entry.finish))
        async with asyncio.timeout(60):
            response = await client.get(url)  # the whole replay: it ends by itself
    assert response.status_code == 200
    capture = tmp_path / "template.ts"
    capture.write_bytes(response.content)
    frames = await asyncio.to_thread(read_frames, capture)
    clip = tuned.clips[first.entry.media_id or 0]
    assert (frames[0].clip, frames[0].frame) == (clip, 0)
    assert {frame.clip for frame in frames} == {clip}  # that programme, and only it
    assert abs(frames[-1].frame + 1 - first.entry.duration_ms / 1000 * FPS) <= 1
    assert check_stream(response.content).ok


def segment_url(replayed: CatchupSpan) -> str:
    return f"catchup/{{sequence}}.ts?start={replayed.start_ms}&end={replayed.end_ms}"


async def test_an_hls_catch_up_is_a_vod_playlist_of_the_whole_span_dated_as_it_aired(
    container: Container, clips: list[Path], tmp_path: Path
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    number = tuned.channel.number
    first, second, third = await aired(container, number, 3)
    start, end = first.entry.start, third.entry.start + timedelta(seconds=2)
    span = parse_span(unix(start), unix(end))
    aired_entries = await container.playouts.entries(number, start, end)

    text = await container.catchup.playlist(number, unix(start), unix(end), None, segment_url)
    playlist = m3u8.loads(text)
    assert playlist.playlist_type == "vod" and playlist.is_endlist
    assert len(playlist.segments) == span.segment_count >= 2  # all of it, at once
    assert abs(sum(s.duration for s in playlist.segments) - span.duration_ms / 1000) < 1e-3
    for index, item in enumerate(playlist.segments):  # each dated as it aired
        assert item.current_program_date_time == start + index * timedelta(seconds=6)
    async with asyncio.timeout(90):  # read in order, as a player does
        data = [
            await container.catchup.segment(number, span.start_ms, span.end_ms, sequence)
            for sequence in range(span.segment_count)
        ]
    assert container.streaming.tuners.status().channels == {f"{span.key('42')}#hls": 1}
    sent = container.metrics.stream_bytes.labels("42")._value.get()  # counted like live
    assert sent >= sum(len(part) for part in data)

    joined = tmp_path / "replay.ts"
    joined.write_bytes(b"".join(data))
    frames = await asyncio.to_thread(read_frames, joined)
    clip_of = tuned.clips
    assert (frames[0].clip, frames[0].frame) == (clip_of[first.entry.media_id or 0], 0)
    for entry in (second, third):  # the boundaries, the second one in segment 1
        boundary = next(f for f in frames if f.clip == clip_of[entry.entry.media_id or 0])
        assert boundary.frame == 0
        assert (
            abs(boundary.pts - frames[0].pts - (entry.entry.start - start).total_seconds()) <= FRAME
        )
    assert_as_aired(frames, aired_entries, start, tuned.clips)
    played = frames[-1].pts - frames[0].pts + FRAME
    assert abs(played - span.duration_ms / 1000) <= 2 * FRAME
    report = check_stream(joined.read_bytes())  # one stream: counters and clocks run on
    assert report.ok, report


async def test_a_seek_into_a_catch_up_playlist_starts_on_the_frame_that_aired_there(
    container: Container, clips: list[Path], tmp_path: Path
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    number = tuned.channel.number
    first, _, third = await aired(container, number, 3)
    span = parse_span(unix(first.entry.start), unix(third.entry.finish))
    listed = await container.playouts.entries(number, first.entry.start, third.entry.finish)
    last = span.segment_count - 1  # straight to the end, nothing before it made

    async with asyncio.timeout(60):
        data = await container.catchup.segment(number, span.start_ms, span.end_ms, last)

    capture = tmp_path / "seek.ts"
    capture.write_bytes(data)
    frames = await asyncio.to_thread(read_frames, capture)
    at = from_ms(span.segment(last).start_ms)
    entry = next(e for e in listed if e.entry.start <= at < e.entry.finish)
    offset = (at - entry.entry.start).total_seconds()
    assert frames[0].clip == tuned.clips[entry.entry.media_id or 0]
    assert abs(frames[0].frame / FPS - offset) <= FRAME, (frames[0], offset)
    assert abs(frames[0].pts - (START_MEDIA_MS / 1000 + last * 6)) <= FRAME  # on the grid
    assert check_stream(data).ok


async def test_start_over_of_a_programme_still_on_air_is_an_event_playlist_that_grows(
    container: Container, clips: list[Path]
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    number = tuned.channel.number
    now = container.clock.now()
    (on_air, *_) = await container.playouts.entries(number, now, now + timedelta(minutes=1))
    start = on_air.entry.start  # the channel's first programme, its start
    await asyncio.sleep((start + timedelta(seconds=7) - container.clock.now()).total_seconds())
    end = start + timedelta(minutes=5)
    span = parse_span(unix(start), unix(end))

    early = m3u8.loads(
        await container.catchup.playlist(number, unix(start), unix(end), None, segment_url)
    )
    with pytest.raises(NotFound, match="not aired yet"):
        await container.catchup.segment(number, span.start_ms, span.end_ms, 3)
    await asyncio.sleep(6)
    later = m3u8.loads(
        await container.catchup.playlist(number, unix(start), unix(end), None, segment_url)
    )

    assert early.playlist_type == "event" and not early.is_endlist
    assert len(early.segments) in (1, 2)  # what has aired, not the whole span
    assert len(later.segments) > len(early.segments)


async def test_the_live_hls_window_reaches_back_the_dvr_minutes(
    tmp_path: Path, database_url: str, clips: list[Path]
) -> None:
    settings = build_settings(
        tmp_path / "dvr", database_url, playout={"horizon_hours": 1},
        streaming={"hls_dvr_minutes": 1},
    )  # fmt: skip
    async with open_container(settings) as container:
        tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
        number = tuned.channel.number
        longest: list[m3u8.Segment] = []
        async with asyncio.timeout(90):
            while len(longest) <= WINDOW:  # the shortest live window has WINDOW segments
                playlist = m3u8.loads(
                    await container.streaming.hls_playlist(number, "{sequence}.ts")
                )
                longest = list(playlist.segments)
                await asyncio.sleep(1.0)
        oldest = playlist.media_sequence
        newest = longest[-1].current_program_date_time
        assert (newest - longest[0].current_program_date_time).total_seconds() >= WINDOW * 3.5
        assert container.streaming.hls_segment(number, oldest)  # a player can rewind to it


async def kill_a_running_process(session: ChannelSession) -> int:
    """SIGKILL the session's FFmpeg while it runs (one that already ended and was reaped,
    its output still being read, is passed over); returns the spawn count at the kill."""
    while True:
        victim, spawned = session.current_pid, session.spawns
        if victim is not None:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
            else:
                return spawned
        await asyncio.sleep(0.02)


async def test_a_replays_ffmpeg_killed_mid_span_is_replaced_and_the_replay_stays_true(
    container: Container, clips: list[Path], tmp_path: Path
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    number = tuned.channel.number
    (first,) = await aired(container, number, 1)
    start, end = first.entry.start, first.entry.start + timedelta(seconds=20)
    listed = await container.playouts.entries(number, start, end)
    chunks = aiter(await container.catchup.open(number, unix(start), unix(end)))
    data = bytearray()

    async def receive() -> None:
        async for chunk in chunks:  # the replay goes on, and ends by itself
            data.extend(chunk)

    async with asyncio.timeout(60):
        receiving = asyncio.create_task(receive())
        (session,) = container.live.replays.values()
        await asyncio.sleep(1.5)
        spawned = await kill_a_running_process(session)
        await receiving
    assert session.spawns > spawned, "the killed process was replaced"

    capture = tmp_path / "killed.ts"
    capture.write_bytes(bytes(data))
    frames = await asyncio.to_thread(read_frames, capture)
    assert_as_aired(frames, listed, start, tuned.clips)
    played = frames[-1].pts - frames[0].pts + FRAME
    assert abs(played - (end - start).total_seconds()) <= 2 * FRAME
    assert check_stream(bytes(data)).ok


async def test_viewers_of_one_span_share_its_producer_and_tuner(
    container: Container, clips: list[Path]
) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    (first,) = await aired(container, tuned.channel.number, 1)
    start, end = unix(first.entry.start), unix(first.entry.finish)
    one = aiter(await container.catchup.open(tuned.channel.number, start, end))
    await anext(one)
    two = aiter(await container.catchup.open(tuned.channel.number, start, end))
    await anext(two)
    assert container.streaming.tuners.status().channels == {f"42@{start}-{end}#1": 2}, (
        "one tuner, two viewers"
    )
    assert container.live.running == 1
    for stream in (one, two):
        await stream.aclose()  # type: ignore[attr-defined]


async def test_refused_spans_take_no_tuner(container: Container, clips: list[Path]) -> None:
    tuned = await tune_in(container, clips, ProfileMode.TRANSCODE)
    number = tuned.channel.number
    now = container.clock.now()
    with pytest.raises(InvalidInput, match="past"):
        await container.catchup.open(number, unix(now + timedelta(seconds=5)))
    with pytest.raises(Gone, match="no playout"):  # before the channel's first build
        await container.catchup.open(number, unix(now - timedelta(hours=2)))
    with pytest.raises(Gone, match="last 7 day"):
        await container.catchup.open(number, unix(now - timedelta(days=8)))
    with pytest.raises(InvalidInput, match="end"):
        await container.catchup.open(number, unix(now - timedelta(seconds=1)), "yesterday")
    assert container.streaming.tuners.status().in_use == 0
    assert container.live.running == 0
