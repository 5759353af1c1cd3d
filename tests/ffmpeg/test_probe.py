"""probe_file against real ffprobe runs on clips made with ffmpeg's lavfi sources."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from exstreamtv.errors import ProbeFailed
from exstreamtv.ffmpeg.probe import probe_file


@pytest.fixture
def clip(clip_cache: dict[float, Path]) -> Path:
    """The shared 2 s, 160x120, 25 fps H.264 + 48 kHz AAC MP4 (made once per session)."""
    return clip_cache[2.0]


def fake_ffprobe(folder: Path, body: str) -> str:
    """An executable Python script standing in for ffprobe; returns its path."""
    script = folder / "ffprobe"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    script.chmod(0o755)
    return str(script)


async def test_probe_reports_duration_codecs_size_and_fps_of_a_real_clip(clip: Path) -> None:
    info = await probe_file(clip)

    assert info.duration_ms == pytest.approx(2000, abs=100)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (160, 120)
    assert info.fps == pytest.approx(25)
    assert info.sample_rate == 48000


@pytest.mark.parametrize(
    "name",
    ["with spaces.mp4", "a:b:c.mp4", "-leading-dash.mp4", "ünïcødé 日本.mp4", "-x: ü y.mp4"],
)
async def test_probe_handles_awkward_file_names(clip: Path, tmp_path: Path, name: str) -> None:
    awkward = tmp_path / name
    shutil.copy(clip, awkward)

    info = await probe_file(awkward)

    assert info.duration_ms == pytest.approx(2000, abs=100)


async def test_relative_name_starting_with_a_dash_is_probed_as_a_file(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(clip, tmp_path / "-i.mp4")
    monkeypatch.chdir(tmp_path)

    info = await probe_file(Path("-i.mp4"))

    assert info.video_codec == "h264"


def _zero_bytes(path: Path, clip: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path, clip: Path) -> None:
    path.write_text("this is a shopping list, not a video\n")


def _truncated(path: Path, clip: Path) -> None:
    path.write_bytes(clip.read_bytes()[:1024])


@pytest.mark.parametrize("make_broken", [_zero_bytes, _text, _truncated])
async def test_unreadable_file_raises_probe_failed_with_a_short_reason_naming_no_path(
    clip: Path, tmp_path: Path, make_broken: Callable[[Path, Path], None]
) -> None:
    broken = tmp_path / "broken.mp4"
    make_broken(broken, clip)

    with pytest.raises(ProbeFailed) as failure:
        await probe_file(broken)

    reason = failure.value.message
    assert reason == "ffprobe: Invalid data found when processing input"
    assert str(tmp_path) not in reason


async def test_missing_ffprobe_raises_probe_failed_naming_it(clip: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "bin" / "ffprobe")

    with pytest.raises(ProbeFailed, match="ffprobe not found: install ffmpeg"):
        await probe_file(clip, ffprobe=missing)


async def test_slow_ffprobe_raises_probe_failed_after_the_timeout(
    clip: Path, tmp_path: Path
) -> None:
    stuck = fake_ffprobe(tmp_path, "time.sleep(30)")

    with pytest.raises(ProbeFailed, match=r"timed out after 0\.3s"):
        await probe_file(clip, ffprobe=stuck, timeout=0.3)


async def test_silent_failure_reports_the_exit_status(clip: Path, tmp_path: Path) -> None:
    silent = fake_ffprobe(tmp_path, "sys.exit(3)")

    with pytest.raises(ProbeFailed, match=r"^ffprobe exited with status 3$"):
        await probe_file(clip, ffprobe=silent)


async def test_long_error_line_is_cut_to_300_characters(clip: Path, tmp_path: Path) -> None:
    verbose = fake_ffprobe(tmp_path, "sys.stderr.write('e' * 5000 + '\\n\\n'); sys.exit(1)")

    with pytest.raises(ProbeFailed) as failure:
        await probe_file(clip, ffprobe=verbose)

    assert failure.value.message.startswith("ffprobe: eee")
    assert len(failure.value.message) == 300


async def test_unparseable_output_raises_probe_failed(clip: Path, tmp_path: Path) -> None:
    babbling = fake_ffprobe(tmp_path, "print('not json')")

    with pytest.raises(ProbeFailed, match="not JSON"):
        await probe_file(clip, ffprobe=babbling)
