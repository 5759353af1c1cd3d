"""An item's listed length against the pictures in its file, on real FFmpeg: a join in an
item's last frame, a listing a few ms or a few hundred ms longer than the file (a longer
sound track, a container's rounding) play on with no fault and no futile process; only a
file far shorter than its listing (truncated) is a media fault."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.domain.profiles import Corner, StreamProfile, Watermark
from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.metrics import Metrics
from exstreamtv.playback.faults import Fault, classify_exit
from exstreamtv.playback.session import FAILED_MEMORY, ChannelSession, Segment, WhatPlays
from exstreamtv.playback.supervisor import Supervisor
from tests.formats.test_splice import decode_warnings
from tests.identity import make_identity_clip, read_frames
from tests.playback.test_session import TINY, media_span, read_until


def looping(path: Path, listed_ms: int, *, joined_at_ms: int = 0) -> tuple[WhatPlays, list[int]]:
    """A schedule that loops one item listed as ``listed_ms`` long, joined ``joined_at_ms``
    into it; also returns the seeks it was asked for (in order)."""
    origins: list[datetime] = []  # the session's first moment is ``joined_at_ms`` in
    asked: list[int] = []

    async def what_plays(at: datetime) -> Segment:
        if not origins:
            origins.append(at - timedelta(milliseconds=joined_at_ms))
        offset = int((at - origins[0]) / timedelta(milliseconds=1)) % listed_ms
        asked.append(offset)
        return Segment(str(path), offset, listed_ms - offset, media_id=5)

    return what_plays, asked


async def watch(
    supervisor: Supervisor,
    what_plays: WhatPlays,
    profile: StreamProfile,
    seconds: float,
    *,
    metrics: Metrics | None = None,
) -> tuple[ChannelSession, bytes, list[tuple[int, str]]]:
    """``seconds`` of a session's stream; returns the session, the bytes and its fault
    reports."""
    reported: list[tuple[int, str]] = []

    async def report(media_id: int, reason: str) -> None:
        reported.append((media_id, reason))

    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=profile, work_ahead=1.0, metrics=metrics or Metrics(),
        on_media_fault=report,
    )  # fmt: skip
    session.start()
    try:
        data = await read_until(
            session.subscribe(),
            lambda d: media_span(d[: len(d) // PACKET_SIZE * PACKET_SIZE]) >= seconds,
        )
    finally:
        await session.stop()
    return session, data[: len(data) // PACKET_SIZE * PACKET_SIZE], reported


async def clean(data: bytes, folder: Path) -> None:
    """The in-project checker finds nothing, and FFmpeg decodes it without a warning."""
    report = check_stream(data)
    assert report.problems == [], report.problems
    assert await asyncio.to_thread(decode_warnings, data, folder) == ""


def clip(path: Path, video_s: float, audio_s: float) -> Path:
    """A 25 fps H.264/AAC clip whose sound lasts ``audio_s`` and pictures ``video_s``."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=blue:s=160x120:r=25:d={video_s}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:d={audio_s}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def longer_sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sound 21 ms longer than its 1 s of pictures (so the file is listed as 1.021 s)."""
    return clip(tmp_path_factory.mktemp("clips") / "longer-sound.mp4", 1.0, 1.021)


@pytest.fixture
def marked(tmp_path: Path) -> StreamProfile:
    """The tiny profile with a logo in a corner (the overlay reads an image input)."""
    logo = tmp_path / "logo.png"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:s=16x16",
         "-frames:v", "1", str(logo)],
        check=True, timeout=60,
    )  # fmt: skip
    return dataclasses.replace(TINY, watermark=Watermark(str(logo), Corner.TOP_LEFT))


def test_nothing_from_past_a_files_end_is_no_fault_but_nothing_from_its_start_is() -> None:
    past_end = classify_exit(0, "", source="/m.mp4", produced_ms=0, requested_ms=15, seek_ms=985)
    assert past_end is None
    undecodable = classify_exit(0, "", source="/m.mp4", produced_ms=0, requested_ms=900)
    assert undecodable is Fault.MEDIA
    assert classify_exit(0, "", source=None, produced_ms=0, requested_ms=900) is Fault.PROCESS


@pytest.mark.parametrize("joined_at_ms", [975, 995])
async def test_a_join_in_an_items_last_frame_plays_on_with_no_fault(
    supervisor: Supervisor, clip_cache: dict[float, Path], marked: StreamProfile,
    joined_at_ms: int, tmp_path: Path,
) -> None:  # fmt: skip
    """Under a watermark no picture comes out of a request shorter than a frame: that was
    taken for an undecodable file, reported, and the channel showed "unavailable"."""
    what_plays, asked = looping(clip_cache[1.0], 1000, joined_at_ms=joined_at_ms)
    session, data, reported = await watch(supervisor, what_plays, marked, 2.5)
    assert reported == [] and session.failed_media == {}
    assert asked[0] == joined_at_ms and 0 in asked[1:3]  # the next loop follows at once
    await clean(data, tmp_path)


@pytest.fixture(scope="module")
def named_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s clip (50 frames at 25 fps) whose frames say which they are."""
    return make_identity_clip(tmp_path_factory.mktemp("named") / "named.mp4", 1, 2.0)


@pytest.mark.parametrize("joined_at_ms", [1310, 1330, 1359])
async def test_a_join_between_two_frames_shows_the_item_to_its_last_frame(
    supervisor: Supervisor, named_clip: Path, joined_at_ms: int, tmp_path: Path
) -> None:
    """A join 30, 10 and 39 ms past a frame starts on that frame, and the item plays to its
    last: FFmpeg drops a last frame less than half inside the requested length, so the
    request was one frame short whenever the join was over half a frame past one."""
    what_plays, asked = looping(named_clip, 2000, joined_at_ms=joined_at_ms)
    _, data, reported = await watch(supervisor, what_plays, TINY, 3.0)
    assert reported == [] and asked[0] == joined_at_ms
    (tmp_path / "watched.ts").write_bytes(data)
    frames = [seen.frame for seen in await asyncio.to_thread(read_frames, tmp_path / "watched.ts")]
    first = joined_at_ms * 25 // 1000
    assert frames[: 50 - first + 2] == [*range(first, 50), 0, 1], frames
    await clean(data, tmp_path)


async def test_a_file_listed_a_few_ms_longer_than_its_pictures_runs_no_process_for_them(
    supervisor: Supervisor, longer_sound: Path, tmp_path: Path
) -> None:
    """Sound 21 ms longer than the pictures, listed at the longer: the 21 ms after the last
    frame could show nothing, so no FFmpeg runs for them; the next loop follows."""
    what_plays, asked = looping(longer_sound, 1021)
    session, data, reported = await watch(supervisor, what_plays, TINY, 3.5)
    assert reported == [] and session.failed_media == {}
    assert asked.count(0) >= 3  # three loops, each from its first frame
    assert session.spawns <= asked.count(0) + 1  # (a loop may be running when it stops)
    await clean(data, tmp_path)


async def test_a_file_listed_longer_than_its_last_picture_fills_the_rest_on_time(
    supervisor: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    """Listed 400 ms longer than the file: its end is found once, the rest of each slot is a
    plain slate, and every loop starts on the guide's time from its first frame."""
    what_plays, asked = looping(clip_cache[1.0], 1400)
    session, data, reported = await watch(supervisor, what_plays, TINY, 5.0)
    assert reported == [] and session.failed_media == {}
    assert asked.count(0) >= 3
    # Per loop: the item and a slate; once (the first time its end is met) a process that
    # found nothing left. Not a process every few frames until the slot ends.
    assert session.spawns <= 2 * asked.count(0) + 2, (session.spawns, asked)
    await clean(data, tmp_path)


async def test_a_file_far_shorter_than_its_listing_is_a_media_fault(
    supervisor: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    what_plays, _ = looping(clip_cache[1.0], 9_000)
    session, data, reported = await watch(supervisor, what_plays, TINY, 3.0)
    assert len(reported) == 1 and reported[0][0] == 5
    assert "ends at 0:01" in reported[0][1] and "before its listed end" in reported[0][1]
    assert set(session.failed_media.values()) == {reported[0][1]}
    await clean(data, tmp_path)


async def test_files_found_short_and_failed_files_are_remembered_within_a_bound(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    """A channel of thousands of short or broken files keeps a bounded memory of them."""
    what_plays, _ = looping(clip_cache[1.0], 1000)
    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY,
    )  # fmt: skip
    for n in range(FAILED_MEMORY + 50):
        short = Segment(f"/media/short-{n}.mp4", 1000, 200)
        await session._ended_early(short, str(short.path), 0)
        await session._ended_early(
            Segment(f"/media/gone-{n}.mp4", 1000, 9000), f"/media/gone-{n}.mp4", 0
        )
    assert len(session._ends) == FAILED_MEMORY
    assert len(session.failed_media) == FAILED_MEMORY
    assert f"/media/gone-{FAILED_MEMORY + 49}.mp4" in session.failed_media  # the newest kept
