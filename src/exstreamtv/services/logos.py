"""Channel logos: the channel's own image when it has one, else a generated tile.

Generated tiles (the channel number on a colour picked from the channel's id) are made
once with FFmpeg and cached in ``<data dir>/logos/generated``; the file name carries the
number, so renumbering a channel makes a new tile.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from pathlib import Path

from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel
from exstreamtv.errors import ProcessError
from exstreamtv.ffmpeg.command import logo_argv
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.services.logo_images import reencode_logo

PALETTE = ("0x1b4965", "0x5c2751", "0x2d6a4f", "0x9c2c2c", "0x3d405b", "0x6b4f1d", "0x264653")


class LogoService:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._folder = settings.data_dir / "logos"
        self._locks: dict[str, asyncio.Lock] = {}

    async def logo(self, channel: Channel) -> Path:
        """A PNG file for the channel (raises ProcessError if one cannot be generated)."""
        own = self._own(channel)
        if own is not None:
            return own
        return await self._generated(channel)

    async def save_upload(self, data: bytes) -> str:
        """Store an uploaded logo, decoded and re-encoded as PNG (see
        :mod:`~exstreamtv.services.logo_images`); returns the value for a channel's
        ``logo`` field (a path inside the logos folder, named by content so equal uploads
        share a file). It serves as the channel's watermark too.

        Raises :class:`InvalidInput` with the reason when ``data`` is not an acceptable
        image (over 2 MiB, not PNG/JPEG/WebP/GIF, too many pixels, undecodable).
        """
        png = await asyncio.to_thread(reencode_logo, data)
        name = f"uploads/{hashlib.sha256(png).hexdigest()[:24]}.png"
        await asyncio.to_thread(_write, self._folder / name, png)
        return name

    def _own(self, channel: Channel) -> Path | None:
        return self.uploaded(channel.logo)

    def uploaded(self, value: str | None) -> Path | None:
        """The file an uploaded image's ``value`` (as :meth:`save_upload` returned it)
        names: a file inside the logos folder, never a path outside it; ``None`` when
        there is no such file."""
        if not value or "://" in value:
            return None
        candidate = (self._folder / value).resolve()
        folder = self._folder.resolve()
        if folder not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    async def _generated(self, channel: Channel) -> Path:
        number = str(channel.number)
        target = self._folder / "generated" / f"{channel.id}-{number}.png"
        if target.exists():
            return target
        lock = self._locks.setdefault(target.name, asyncio.Lock())
        async with lock:
            if not target.exists():
                await self._make(target, number, channel.id)
        self._locks.pop(target.name, None)
        return target

    async def _make(self, target: Path, number: str, key: int) -> None:
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        colour = PALETTE[int(hashlib.sha256(str(key).encode()).hexdigest(), 16) % len(PALETTE)]
        partial = target.with_suffix(".partial.png")
        ffmpeg = self._settings.ffmpeg.ffmpeg_path
        for with_text in (True, False):
            argv = logo_argv(ffmpeg, partial, text=number, colour=colour, with_text=with_text)
            if (await run_capture(argv, timeout=30)).returncode == 0:
                await asyncio.to_thread(partial.replace, target)
                return
        raise ProcessError(f"ffmpeg could not draw a logo for channel {number}")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{secrets.token_hex(8)}.partial")  # concurrent uploads never mix
    partial.write_bytes(data)
    partial.replace(path)
