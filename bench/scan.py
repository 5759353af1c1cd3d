"""Library scan benchmark: initial scan rate, unchanged-rescan time, peak RSS.

Builds a synthetic library of ``--files`` real clips (hard links of a few tiny lavfi clips,
laid out as ``Show NNN/Season NN/Show NNN - SxxEyy.mp4``), scans it with the real scanner
and ffprobe into a fresh SQLite (or ``--database-url``) database, then rescans it unchanged.

Target: an unchanged rescan of 10,000 files in at most 5 s on a 2-core machine.

    .venv/bin/python bench/scan.py [--files 10000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.services.container import open_container

RESCAN_TARGET_SEC = 5.0


def make_clip(path: Path, colour: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c={colour}:size=64x48:rate=10",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def build_library(root: Path, files: int) -> None:
    sources = []
    for colour in ("red", "green", "blue"):
        clip = root / f".source-{colour}.mp4"
        make_clip(clip, colour)
        sources.append(clip)
    for n in range(files):
        show, season, episode = n // 100, (n // 10) % 10 + 1, n % 10 + 1
        folder = root / f"Show {show:03d}" / f"Season {season:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"Show {show:03d} - S{season:02d}E{episode:02d}.mp4"
        os.link(sources[n % len(sources)], folder / name)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(files: int, concurrency: int, database_url: str | None, work: Path) -> None:
    media = work / "media"
    media.mkdir()
    started = time.perf_counter()
    build_library(media, files)
    print(f"built {files} files in {time.perf_counter() - started:.1f}s")
    data: dict[str, object] = {
        "data_dir": work / "data",
        "demo": {"enabled": False},
        "scan": {"concurrency": concurrency},
    }
    if database_url:
        data["database"] = {"url": database_url}
    settings = Settings.model_validate(data)
    async with open_container(settings) as container:
        library = await container.libraries.create("Bench", LibraryKind.SHOWS, [str(media)])
        started = time.perf_counter()
        first = await container.libraries.scan(library.id)
        initial = time.perf_counter() - started
        started = time.perf_counter()
        again = await container.libraries.scan(library.id)
        rescan = time.perf_counter() - started
    assert first.counts.added == files, first
    assert again.counts.unchanged == files, again
    verdict = "ok" if rescan <= RESCAN_TARGET_SEC else "MISSED"
    print(f"initial scan:      {initial:.1f}s  ({files / initial:.0f} files/s, "
          f"concurrency {concurrency})")  # fmt: skip
    print(f"unchanged rescan:  {rescan:.2f}s  (target <= {RESCAN_TARGET_SEC:.0f}s: {verdict})")
    print(f"peak RSS (server): {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-bench-") as work:
        asyncio.run(run(args.files, args.concurrency, args.database_url, Path(work)))


if __name__ == "__main__":
    main()
