"""Troubleshooting playback with real FFmpeg: an item through a channel's pipeline, its
command, log and probes, one at a time, secrets never shown, and the bug-report zip."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import MediaItem
from exstreamtv.domain.profiles import StreamProfile
from exstreamtv.errors import LimitReached, NotFound
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.playback_trials import PlaybackTrials
from exstreamtv.store.media import MediaFilter
from tests.support import build_settings

TOKEN = "plex-token-0123456789abcdef"
ACCESS = "access-token-fedcba9876543210"
SMALL = StreamProfile("Tiny", width=320, height=180, fps=25, preset="ultrafast",
                      video_bitrate_kbps=300, audio_bitrate_kbps=64)  # fmt: skip


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Container]:
    settings = build_settings(
        tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        server={"access_token": ACCESS},
    )  # fmt: skip
    async with open_container(settings) as opened:
        await opened.profiles.ensure_default()
        yield opened


async def scanned_clip(
    app: Container, folder: Path, place: Callable[[Path, float], Path]
) -> MediaItem:
    place(folder / "Clip (2020)" / "Clip (2020).mp4", 3.0)
    library = await app.libraries.create("Clips", LibraryKind.MOVIES, [str(folder)])
    await app.libraries.scan(library.id)
    (item,), _ = await app.catalog.search(MediaFilter(library_id=library.id), 0, 5)
    return item


async def test_a_trial_plays_the_item_in_the_profile_and_shows_command_log_and_probes(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    item = await scanned_clip(app, tmp_path / "media", place_clip)
    profile = await app.profiles.create(SMALL)
    started = await app.trials.start(item.id, profile.id, start_sec=1.0, seconds=2)
    with pytest.raises(LimitReached, match="running"):
        await app.trials.start(item.id, None)
    trial = await app.trials.wait(started.id)

    assert trial.status == "succeeded", (trial.error, trial.log)
    assert (trial.title, trial.profile, trial.exit_status) == ("Clip", "Tiny", 0)
    assert trial.command[0] == app.settings.ffmpeg.ffmpeg_path and "-ss" in trial.command
    assert trial.command[trial.command.index("-ss") + 1] == "1.000"
    assert trial.source is not None and trial.source.width == 160
    output = trial.output
    assert output is not None
    assert (output.width, output.height, output.video_codec, output.audio_codec) == (
        320,
        180,
        "h264",
        "aac",
    )
    assert 1500 <= output.duration_ms <= 2300  # 2 s asked, from 1 s into a 3 s clip
    assert trial.speed is not None and trial.speed > 0
    assert trial.file is not None
    decoded = await run_capture(
        ["ffmpeg", "-v", "error", "-i", str(trial.file), "-f", "null", "-"], timeout=60
    )
    assert (decoded.returncode, decoded.stderr_tail) == (0, "")
    assert app.supervisor.process_count == 0


async def test_unknown_items_and_profiles_are_refused_before_anything_runs(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    item = await scanned_clip(app, tmp_path / "media", place_clip)
    with pytest.raises(NotFound):
        await app.trials.start(99_999, None)
    with pytest.raises(NotFound):
        await app.trials.start(item.id, 99_999)
    assert app.trials.trials == []


async def test_an_unplayable_file_fails_with_ffmpegs_reason(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    item = await scanned_clip(app, tmp_path / "media", place_clip)
    broken = Path(item.path)
    await asyncio.to_thread(broken.unlink)  # a hard link to the shared clip: never write into it
    await asyncio.to_thread(broken.write_bytes, b"no longer a video")
    trial = await app.trials.wait((await app.trials.start(item.id, None, seconds=1)).id)
    assert trial.status == "failed"
    assert trial.error is not None and "FFmpeg exited" in trial.error
    assert trial.log  # FFmpeg's own words
    assert trial.source_problem is not None and trial.source_problem.startswith("ffprobe")


@pytest.fixture
def clip_server(clip_cache: dict[float, Path]) -> Iterator[str]:
    """A loopback HTTP server for the 2 s clip (as a media server's stream would be)."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(clip_cache[2.0].parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{clip_cache[2.0].name}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


async def test_a_servers_token_never_shows_in_the_command_the_log_or_the_report(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path], clip_server: str
) -> None:
    item = await scanned_clip(app, tmp_path / "media", place_clip)
    app.redactor.register([TOKEN])  # as media servers register theirs at start-up
    streamed = replace(item, path=f"{clip_server}?X-Plex-Token={TOKEN}&ref={TOKEN}")

    async def locate(item_id: int) -> MediaItem:
        return streamed

    trials = PlaybackTrials(
        app.settings, app.clock, app.supervisor, app.redactor, app.log_ring,
        item=locate, profiles=app.profiles,
    )  # fmt: skip
    trial = await trials.wait((await trials.start(item.id, None, seconds=1)).id)
    assert trial.status == "succeeded", (trial.error, trial.log)
    assert trial.source_problem is not None and "media server" in trial.source_problem
    shown = json.dumps([trial.command, trial.command_line, trial.log])
    assert TOKEN not in shown and "***" in shown

    report = await trials.report({"note": f"a fact with {TOKEN} in it"})
    with zipfile.ZipFile(io.BytesIO(report)) as archive:
        names = sorted(archive.namelist())
        texts = {name: archive.read(name).decode() for name in names}
    assert names == [
        "exstreamtv-report/logs.txt", "exstreamtv-report/settings.json",
        "exstreamtv-report/station.json", "exstreamtv-report/troubleshooting-playbacks.json",
    ]  # fmt: skip
    everything = "\n".join(texts.values())
    assert TOKEN not in everything and ACCESS not in everything
    settings = json.loads(texts["exstreamtv-report/settings.json"])
    assert settings["server"]["access_token"] == "**********"
    (kept,) = json.loads(texts["exstreamtv-report/troubleshooting-playbacks.json"])
    assert kept["status"] == "succeeded" and kept["command"][0] == "ffmpeg"
    await trials.close()
