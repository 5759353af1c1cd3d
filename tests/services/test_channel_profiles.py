"""The profile a channel streams with: its own or the default, its logo as watermark, and
libx264 for a hardware encoder this machine lacks; proven on real streams where it matters."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.profiles import (
    DEFAULT_PROFILE,
    Corner,
    StreamProfile,
    VideoEncoder,
    Watermark,
    WatermarkStyle,
)
from exstreamtv.ffmpeg.profiles import VAAPI_DEVICE
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.services.container import Container, open_container
from exstreamtv.store.channels import ChannelFields
from tests.playback.test_session import media_span, read_until
from tests.support import build_settings
from tests.web.client import create_and_scan, open_client

WIDTH, HEIGHT = 640, 360
LOGO_SIDE = 48
SMALL = {"name": "Small", "width": WIDTH, "height": HEIGHT, "fps": 25, "preset": "ultrafast",
         "video_bitrate_kbps": 400, "gop_seconds": 1, "audio_bitrate_kbps": 64}  # fmt: skip


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Container]:
    """A container on SQLite (streams are real FFmpeg; one database is enough)."""
    settings = build_settings(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    async with open_container(settings) as opened:
        yield opened


def red_logo(container: Container) -> str:
    """A solid red PNG in the logos folder; returns its name there."""
    folder = container.settings.data_dir / "logos"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"color=c=red:s={LOGO_SIDE}x{LOGO_SIDE}", "-frames:v", "1", str(folder / "red.png")],
        check=True, timeout=60,
    )  # fmt: skip
    return "red.png"


async def scheduled_movie(
    client: httpx.AsyncClient, container: Container, folder: Path
) -> dict[str, Any]:
    """Scan ``folder`` (one movie) and return a schedule that loops it."""
    await create_and_scan(client, container, folder)
    smart = {"name": "Movies", "kind": "smart", "query": {"kinds": ["movie"]}}
    collection = (await client.post("/api/collections", json=smart)).json()
    body = {"name": "Loop", "kind": "items",
            "items": [{"source": {"collection_ids": [collection["id"]]}}]}  # fmt: skip
    schedule = await client.post("/api/schedules", json=body)
    assert schedule.status_code == 201, schedule.text
    found: dict[str, Any] = schedule.json()
    return found


async def capture(container: Container, number: str, target: Path) -> Path:
    """About 2 s of ``number``'s live stream, written to ``target``."""
    channel = await container.channels.channel(ChannelNumber.parse(number))
    chunks = await container.live.open(channel)

    def whole(data: bytes) -> bytes:
        return data[: len(data) // PACKET_SIZE * PACKET_SIZE]

    data = await read_until(chunks, lambda d: media_span(whole(d)) >= 2.0)
    await chunks.aclose()  # type: ignore[attr-defined]
    target.write_bytes(whole(data))
    return target


async def run(argv: list[str]) -> bytes:
    done = await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, timeout=60, check=True
    )
    return done.stdout


async def pixel(capture_file: Path, x: int, y: int) -> tuple[int, int, int]:
    """The RGB colour at (x, y) of the 25th frame of a capture."""
    raw = await run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(capture_file),
                     "-vf", r"select=eq(n\,25)", "-frames:v", "1", "-f", "rawvideo",
                     "-pix_fmt", "rgb24", "-"])  # fmt: skip
    at = (y * WIDTH + x) * 3
    return raw[at], raw[at + 1], raw[at + 2]


async def test_a_channel_streams_in_its_profile_with_its_logo_overlaid(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    folder = tmp_path / "media"
    place_clip(folder / "Movie (2020)" / "Movie (2020).mp4", 3.0)  # blue, 160x120
    logo = await asyncio.to_thread(red_logo, app)  # FFmpeg runs to its end: not on the loop
    async with open_client(app) as client:
        schedule = await scheduled_movie(client, app, folder)
        profile = (await client.post("/api/stream-profiles", json=SMALL)).json()
        mark = {"corner": "top_left", "opacity": 1}
        for number, watermark in (("9", mark), ("10", None)):
            body = {"number": number, "name": f"Ch {number}", "logo": logo,
                    "stream_profile_id": profile["id"], "watermark": watermark}  # fmt: skip
            assert (await client.post("/api/channels", json=body)).status_code == 201
            attach = {"schedule_id": schedule["id"]}
            attached = await client.put(f"/api/channels/{number}/schedule", json=attach)
            assert attached.status_code == 200, attached.text

    marked = await capture(app, "9", tmp_path / "marked.ts")
    plain = await capture(app, "10", tmp_path / "plain.ts")

    sizes = await run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                       "stream=width,height", "-of", "csv=p=0", str(marked)])  # fmt: skip
    assert set(sizes.decode().split()) == {f"{WIDTH},{HEIGHT}"}
    # The source is pillarboxed (black bars left and right); the logo sits over the top-left
    # bar, 10 px in (1/36 of the height), only on the channel with a watermark.
    inside = 10 + LOGO_SIDE // 2
    red, green, blue = await pixel(marked, inside, inside)
    assert red > 180 and green < 80 and blue < 80, (red, green, blue)
    assert max(await pixel(plain, inside, inside)) < 40
    centre = await pixel(marked, WIDTH // 2, HEIGHT // 2)
    assert centre[2] > 180 and centre[0] < 80  # the blue programme itself


async def test_a_channel_gets_its_own_profile_else_the_default(container: Container) -> None:
    small = await container.profiles.create(StreamProfile("Small", width=640, height=360))
    number = ChannelNumber(3)
    own = await container.channels.create(
        ChannelFields(number, "Three", stream_profile_id=small.id)
    )
    assert await container.profiles.for_channel(own) == small.profile
    plain = await container.channels.update(number, ChannelFields(number, "Three"))
    assert await container.profiles.for_channel(plain) == DEFAULT_PROFILE
    await container.profiles.update(small.id, small.profile, default=True)
    assert await container.profiles.for_channel(plain) == small.profile


async def test_the_watermark_is_the_channels_uploaded_logo_or_else_its_generated_tile(
    app: Container,
) -> None:
    style = WatermarkStyle(Corner.BOTTOM_LEFT, 0.6)
    logo_name = await asyncio.to_thread(red_logo, app)
    uploaded = await app.channels.create(
        ChannelFields(ChannelNumber(4), "Four", logo=logo_name, watermark=style)
    )
    profile = await app.profiles.for_channel(uploaded)
    logo = (app.settings.data_dir / "logos" / "red.png").resolve()
    assert profile.watermark == Watermark(str(logo), Corner.BOTTOM_LEFT, 0.6)

    remote = await app.channels.create(
        ChannelFields(
            ChannelNumber(5), "Five", logo="https://example.invalid/x.png", watermark=style
        )
    )
    tile = (await app.profiles.for_channel(remote)).watermark
    assert tile is not None and tile.path == str((await app.logos.logo(remote)).resolve())
    assert Path(tile.path).is_file()


async def test_a_watermark_can_use_its_own_uploaded_image_and_is_skipped_once_it_is_gone(
    app: Container, caplog: pytest.LogCaptureFixture
) -> None:
    image = await asyncio.to_thread(red_logo, app)
    style = WatermarkStyle(Corner.TOP_RIGHT, 0.8, image, 20, 2, 3, 15, 20)
    channel = await app.channels.create(
        ChannelFields(
            ChannelNumber(6), "Six", logo="https://example.invalid/x.png", watermark=style
        )
    )
    path = str((app.settings.data_dir / "logos" / image).resolve())
    assert (await app.profiles.for_channel(channel)).watermark == style.of(path)

    await asyncio.to_thread(Path(path).unlink)
    with caplog.at_level(logging.WARNING):
        assert (await app.profiles.for_channel(channel)).watermark is None
    assert "no longer stored" in caplog.text
    outside = replace(style, image="../exstreamtv.yaml")  # never a file outside the folder
    escaped = await app.channels.update(
        channel.number, ChannelFields(channel.number, "Six", watermark=outside)
    )
    assert (await app.profiles.for_channel(escaped)).watermark is None


@pytest.mark.skipif(Path(VAAPI_DEVICE).exists(), reason="VA-API works on this machine")
async def test_a_hardware_encoder_this_machine_lacks_becomes_libx264_with_the_reason_logged(
    app: Container, caplog: pytest.LogCaptureFixture
) -> None:
    vaapi = replace(DEFAULT_PROFILE, name="GPU", video_encoder=VideoEncoder.H264_VAAPI)
    stored = await app.profiles.create(vaapi)
    channel = await app.channels.create(
        ChannelFields(ChannelNumber(6), "Six", stream_profile_id=stored.id)
    )
    # Not detected (yet): the profile is tried as it is; the session falls back if it fails.
    assert (await app.profiles.for_channel(channel)).video_encoder is VideoEncoder.H264_VAAPI
    assert await app.profiles.detect_encoders(app.settings.ffmpeg.ffmpeg_path) is not None
    with caplog.at_level(logging.WARNING, logger="exstreamtv.services.profiles"):
        chosen = await app.profiles.for_channel(channel)
    assert chosen == replace(vaapi, video_encoder=VideoEncoder.LIBX264)
    (said,) = [r.getMessage() for r in caplog.records]
    assert "channel 6" in said and VAAPI_DEVICE in said and "libx264" in said


async def test_an_ffmpeg_that_cannot_be_asked_leaves_the_encoders_undetected(
    app: Container, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="exstreamtv.services.profiles"):
        assert await app.profiles.detect_encoders(str(tmp_path / "no-ffmpeg")) is None
    assert app.profiles.capabilities is None and app.profiles.encoder_support() == []
    assert any("could not list" in r.getMessage() for r in caplog.records)
