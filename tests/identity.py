"""Clips that name themselves in every frame, and the reader that recognises them.

Each frame of an identity clip is 16 vertical bars, black or white: the bits of
``clip * 4096 + frame``, least significant on the left. Bars survive scaling, padding-free
16:9 profiles and lossy encoding, so a frame decoded from a channel's stream says which
clip it is and where in it (``frame / fps``), to a frame. Made with FFmpeg's lavfi (geq).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

BARS = 16
FRAME_BITS = 12


def make_identity_clip(
    path: Path, clip: int, seconds: float, *, gop_seconds: float = 2.0, fps: int = 25
) -> Path:
    """An H.264/AAC MP4 (320x180, ``fps``, 48 kHz stereo, a keyframe every ``gop_seconds``)
    whose frames carry ``clip`` and their own number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = f"({clip}*{1 << FRAME_BITS}+N)"
    bars = f"geq=lum='16+219*mod(floor({value}/pow(2,floor(X*{BARS}/W))),2)':cb=128:cr=128"
    gop = str(round(gop_seconds * fps))
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s=320x180:r={fps},format=yuv420p,{bars}",
         "-f", "lavfi", "-i", f"sine=frequency={300 + 50 * clip}:sample_rate=48000",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-c:a", "aac", "-ac", "2",
         "-ar", "48000", "-shortest", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


@dataclass(frozen=True, slots=True)
class Seen:
    """A decoded frame: its presentation time in the stream (s) and who it says it is."""

    pts: float
    clip: int
    frame: int


_PTS = re.compile(r"pts_time:\s*(-?[0-9.]+)")


def read_frames(capture: Path) -> list[Seen]:
    """Every frame of an MPEG-TS capture, with the clip and frame its bars name."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-copyts",
         "-i", str(capture), "-map", "0:v:0",
         "-vf", f"scale={BARS}:1:flags=area,format=gray,showinfo", "-f", "rawvideo", "-"],
        capture_output=True, timeout=300, check=True,
    )  # fmt: skip
    times = [float(m) for m in _PTS.findall(done.stderr.decode(errors="replace"))]
    pixels = done.stdout
    seen = []
    for index, pts in enumerate(times):
        row = pixels[index * BARS : (index + 1) * BARS]
        if len(row) < BARS:
            break
        value = sum(1 << bit for bit, level in enumerate(row) if level >= 128)
        seen.append(Seen(pts, value >> FRAME_BITS, value & ((1 << FRAME_BITS) - 1)))
    return seen
