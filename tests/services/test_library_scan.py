"""Library scans with real ffprobe on real clips, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from exstreamtv.domain.libraries import Library, LibraryKind, ScanStatus
from exstreamtv.domain.media import MediaItem, MediaKind, MediaState, MetadataStatus
from exstreamtv.errors import Conflict, LibraryPathInvalid, NotFound
from exstreamtv.services.container import Container, open_container, start_up
from exstreamtv.services.library import LibraryService, ScanProgress
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaFilter
from tests.support import build_settings, noise

Place = Callable[[Path, float], Path]
EPISODE = "Shows/Star Trek - The Next Generation/Season 02/Star Trek - The Next Generation - S02E05 - Loud As A Whisper.mp4"  # noqa: E501


async def items_of(container: Container, library: Library) -> dict[str, MediaItem]:
    found, _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 1000)
    root = library.paths[0]
    return {os.path.relpath(item.path, root): item for item in found}


@pytest.fixture
def media_root(tmp_path: Path, place_clip: Place) -> Path:
    root = tmp_path / "media"
    place_clip(root / EPISODE, 2.0)
    place_clip(root / "Shows/Star Trek - The Next Generation/Season 02/S02E06.mp4", 1.0)
    place_clip(root / "Movies/Heat (1995)/Heat (1995).mkv.mp4", 3.0)
    return root


async def test_scan_reads_durations_and_show_structure(
    container: Container, media_root: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED
    assert (result.counts.total, result.counts.added, result.counts.failed) == (3, 3, 0)
    items = await items_of(container, library)
    episode = items[EPISODE]
    assert abs(episode.duration_ms - 2000) <= 100
    assert episode.technical is not None
    assert (episode.technical.video_codec, episode.technical.audio_codec) == ("h264", "aac")
    assert (episode.technical.width, episode.technical.height) == (160, 120)
    meta = episode.metadata
    assert (meta.kind, meta.show, meta.season, meta.episode) == (
        MediaKind.EPISODE,
        "Star Trek - The Next Generation",
        2,
        5,
    )
    assert meta.title == "Loud As A Whisper"
    assert meta.status is MetadataStatus.OK


async def test_unchanged_rescan_probes_nothing(
    container: Container, media_root: Path, tmp_path: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await container.libraries.scan(library.id)
    # A second scan with a broken ffprobe: any probe would mark items failed.
    broken = build_settings(
        tmp_path / "data", container.settings.database_url, ffmpeg={"ffprobe_path": "/bin/false"}
    )
    async with open_container(broken) as second:
        result = await second.libraries.scan(library.id)
        assert (result.counts.unchanged, result.counts.updated) == (3, 0)
        items = await items_of(second, library)
    assert all(item.metadata.status is MetadataStatus.OK for item in items.values())


async def test_changed_file_is_reprobed(
    container: Container, media_root: Path, clip_cache: dict[float, Path]
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await container.libraries.scan(library.id)
    target = media_root / EPISODE
    target.unlink()
    shutil.copy(clip_cache[3.0], target)
    result = await container.libraries.scan(library.id)
    assert (result.counts.updated, result.counts.unchanged) == (1, 2)
    assert abs((await items_of(container, library))[EPISODE].duration_ms - 3000) <= 100


async def test_removed_file_is_marked_missing_then_present_again(
    container: Container, media_root: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await container.libraries.scan(library.id)
    hidden = media_root / "elsewhere.bin"
    (media_root / EPISODE).rename(hidden)
    result = await container.libraries.scan(library.id)
    assert result.counts.missing == 1
    item = (await items_of(container, library))[EPISODE]
    assert item.state is MediaState.MISSING and item.missing_since is not None
    assert item.missing_reason == "not found by the scan of library 'TV'"
    hidden.rename(media_root / EPISODE)
    await container.libraries.scan(library.id)
    item = (await items_of(container, library))[EPISODE]
    assert item.state is MediaState.PRESENT and item.missing_since is None
    assert item.missing_reason is None


async def test_vanished_library_folder_fails_the_scan_and_keeps_items(
    container: Container, media_root: Path, tmp_path: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await container.libraries.scan(library.id)
    media_root.rename(tmp_path / "unmounted")
    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.FAILED
    assert result.error is not None and "does not exist" in result.error
    (tmp_path / "unmounted").rename(media_root)
    items = await items_of(container, library)
    assert all(item.state is MediaState.PRESENT for item in items.values())


async def test_bad_files_are_recorded_with_reasons_and_the_scan_carries_on(
    container: Container, tmp_path: Path, place_clip: Place
) -> None:
    root = tmp_path / "bad"
    place_clip(root / "good.mp4", 1.0)
    (root / "zero.mkv").write_bytes(b"")
    (root / "noise.mp4").write_bytes(noise(4096))
    (root / "text.avi").write_text("this is not a video\n")
    (root / "truncated.mp4").write_bytes((root / "good.mp4").read_bytes()[:1024])
    (root / "loop").symlink_to(root)
    (root / "dangling.mp4").symlink_to(root / "nowhere.mp4")
    (root / "emoji 📺 ذ.mp4").write_bytes((root / "good.mp4").read_bytes())
    (root / "new\nline.mp4").write_bytes((root / "good.mp4").read_bytes())
    os.close(os.open(os.fsencode(root) + b"/latin1-\xe9.mp4", os.O_CREAT | os.O_WRONLY))
    library = await container.libraries.create("Bad", LibraryKind.MIXED, [str(root)])
    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED
    items = await items_of(container, library)
    for name in ("zero.mkv", "noise.mp4", "text.avi", "truncated.mp4"):
        assert items[name].metadata.status is MetadataStatus.FAILED, name
        assert "cannot be probed" in (items[name].metadata.reason or "")
    for name in ("good.mp4", "emoji 📺 ذ.mp4", "new\nline.mp4"):
        assert items[name].metadata.status is MetadataStatus.PLACEHOLDER, name
        assert items[name].duration_ms > 0
    problems = {Path(p.path).name: p.reason for p in await container.libraries.problems(library.id)}
    assert "symlink loop" in problems["loop"]
    assert "cannot be read" in problems["dangling.mp4"]
    assert problems["latin1-\\xe9.mp4"] == "name is not valid UTF-8"


async def test_hostile_nfo_marks_metadata_failed_but_keeps_the_item(
    container: Container, tmp_path: Path, place_clip: Place
) -> None:
    root = tmp_path / "nfo"
    place_clip(root / "Laughs (2001).mp4", 1.0)
    (root / "Laughs (2001).nfo").write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><movie><title>&lol2;</title></movie>'
    )
    place_clip(root / "Good (1999).mp4", 1.0)
    (root / "Good (1999).nfo").write_text(
        "<movie><title>Good Film</title><year>1999</year></movie>"
    )
    library = await container.libraries.create("NFO", LibraryKind.MOVIES, [str(root)])
    await container.libraries.scan(library.id)
    items = await items_of(container, library)
    hostile = items["Laughs (2001).mp4"]
    assert hostile.metadata.status is MetadataStatus.FAILED
    assert (hostile.metadata.reason or "").startswith("NFO:")
    assert hostile.duration_ms > 0
    good = items["Good (1999).mp4"].metadata
    assert (good.title, good.year, good.source.value) == ("Good Film", 1999, "nfo")


async def test_editing_an_nfo_counts_as_a_change(
    container: Container, tmp_path: Path, place_clip: Place
) -> None:
    root = tmp_path / "edit"
    place_clip(root / "Film (2000).mp4", 1.0)
    nfo = root / "Film (2000).nfo"
    nfo.write_text("<movie><title>First</title></movie>")
    library = await container.libraries.create("Edit", LibraryKind.MOVIES, [str(root)])
    await container.libraries.scan(library.id)
    nfo.write_text("<movie><title>Second</title></movie>")
    os.utime(nfo, ns=(nfo.stat().st_atime_ns, nfo.stat().st_mtime_ns + 10**9))
    result = await container.libraries.scan(library.id)
    assert result.counts.updated == 1
    assert (await items_of(container, library))["Film (2000).mp4"].metadata.title == "Second"


async def test_hung_ffprobe_times_out_and_is_recorded(
    tmp_path: Path, place_clip: Place, database_url: str
) -> None:
    slow = tmp_path / "slow-ffprobe"
    slow.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    slow.chmod(slow.stat().st_mode | stat.S_IEXEC)
    place_clip(tmp_path / "m" / "a.mp4", 1.0)
    settings = build_settings(
        tmp_path / "data",
        database_url,
        ffmpeg={"ffprobe_path": str(slow)},
        scan={"probe_timeout_sec": 0.5},
    )
    async with open_container(settings) as container:
        library = await container.libraries.create("Slow", LibraryKind.MIXED, [str(tmp_path / "m")])
        result = await asyncio.wait_for(container.libraries.scan(library.id), 30)
        item = (await items_of(container, library))["a.mp4"]
    assert result.counts.failed == 1
    assert "timed out" in (item.metadata.reason or "")


async def test_second_scan_of_the_same_library_is_refused_while_running(
    container: Container, media_root: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    first, second = await asyncio.gather(
        container.libraries.start_scan(library.id),
        container.libraries.start_scan(library.id),
        return_exceptions=True,
    )
    assert isinstance(first, ScanProgress)
    assert isinstance(second, Conflict) and "already being scanned" in second.message
    assert (await container.libraries.wait(library.id)).status is ScanStatus.COMPLETED


@pytest.mark.parametrize(
    ("path", "reason"),
    [("relative/path", "must be absolute"), ("/does/not/exist", "does not exist"), ("", "empty")],
)
async def test_bad_library_paths_are_refused_and_nothing_is_stored(
    container: Container, path: str, reason: str
) -> None:
    with pytest.raises(LibraryPathInvalid, match=reason):
        await container.libraries.create("Bad", LibraryKind.MIXED, [path])
    assert await container.libraries.libraries() == []


async def test_file_as_library_path_is_refused(container: Container, tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(LibraryPathInvalid, match="not a folder"):
        await container.libraries.create("Bad", LibraryKind.MIXED, [str(file)])


async def test_scan_interrupted_by_a_crash_is_marked_failed_on_next_start(
    container: Container, media_root: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    async with transaction(container.sessions) as session:
        await LibraryRepository(session).start_scan(library.id, container.clock.now())
    await start_up(container)
    async with container.sessions() as session:
        stale = await LibraryRepository(session).fail_interrupted_scans(container.clock.now())
    assert stale == 0  # start-up already closed it


async def test_configured_libraries_are_created_and_scanned_at_start_up(
    tmp_path: Path, media_root: Path, database_url: str
) -> None:
    settings = build_settings(
        tmp_path / "data",
        database_url,
        libraries=[{"name": "Mine", "paths": [str(media_root)], "kind": "shows"}],
    )
    async with open_container(settings) as container:
        await start_up(container)
        (library,) = await container.libraries.libraries()
        assert library.managed_by_config
        result = await container.libraries.wait(library.id)
        assert result.counts.added == 3
        with pytest.raises(Conflict, match="config file"):
            await container.libraries.delete(library.id)
        with pytest.raises(Conflict, match="config file"):
            await container.libraries.update(library.id, "x", LibraryKind.MIXED, library.paths)


async def test_artwork_and_show_nfo_are_picked_up(
    container: Container, tmp_path: Path, place_clip: Place
) -> None:
    root = tmp_path / "art"
    show = root / "Bluey (2018)"
    place_clip(show / "Season 01" / "Bluey - S01E01 - Magic Xylophone.mp4", 1.0)
    (show / "tvshow.nfo").write_text(
        "<tvshow><title>Bluey</title><genre>Animation</genre><mpaa>TV-Y</mpaa></tvshow>"
    )
    (show / "Season 01" / "poster.jpg").write_bytes(b"jpg")
    (show / "Season 01" / "Bluey - S01E01 - Magic Xylophone-thumb.jpg").write_bytes(b"jpg")
    place_clip(root / "Movies" / "Up (2009)" / "Up (2009).mp4", 1.0)
    (root / "Movies" / "Up (2009)" / "fanart.png").write_bytes(b"png")
    (root / "Movies" / "Up (2009)" / "folder.jpg").write_bytes(b"jpg")
    library = await container.libraries.create("Art", LibraryKind.MIXED, [str(root)])
    await container.libraries.scan(library.id)
    items = await items_of(container, library)
    episode = items["Bluey (2018)/Season 01/Bluey - S01E01 - Magic Xylophone.mp4"].metadata
    assert (episode.show, episode.genres, episode.content_rating) == (
        "Bluey",
        ("Animation",),
        "TV-Y",
    )
    assert episode.artwork.poster == str(show / "Season 01" / "poster.jpg")
    assert episode.artwork.thumb is not None and episode.artwork.thumb.endswith("-thumb.jpg")
    movie = items["Movies/Up (2009)/Up (2009).mp4"].metadata
    assert movie.artwork.poster is not None and movie.artwork.poster.endswith("folder.jpg")
    assert movie.artwork.fanart is not None and movie.artwork.fanart.endswith("fanart.png")
    assert (movie.kind, movie.title, movie.year) == (MediaKind.MOVIE, "Up", 2009)


async def test_scan_of_unknown_library_is_refused_and_leaves_no_state(
    container: Container,
) -> None:
    with pytest.raises(NotFound, match="library 999 does not exist"):
        await container.libraries.start_scan(999)
    assert container.libraries.progress(999) is None


async def test_library_cannot_be_edited_while_scanning(
    container: Container, media_root: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await container.libraries.start_scan(library.id)
    with pytest.raises(Conflict, match="being scanned"):
        await container.libraries.update(library.id, "Renamed", LibraryKind.SHOWS, library.paths)
    await container.libraries.wait(library.id)
    renamed = await container.libraries.update(
        library.id, "Renamed", LibraryKind.SHOWS, library.paths
    )
    assert (renamed.name, renamed.kind) == ("Renamed", LibraryKind.SHOWS)


async def test_files_found_missing_are_handed_on_once_and_a_failing_hand_off_spares_the_scan(
    container: Container, media_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    async def failing() -> None:
        calls.append(1)
        raise RuntimeError("the playouts could not be rebuilt")

    libraries = LibraryService(
        container.sessions, container.settings, container.clock, container.metrics,
        on_missing=failing,
    )  # fmt: skip
    library = await libraries.create("TV", LibraryKind.MIXED, [str(media_root)])
    await libraries.scan(library.id)
    assert calls == []  # nothing went missing
    (media_root / EPISODE).unlink()
    result = await libraries.scan(library.id)
    assert (result.status, result.counts.missing, calls) == (ScanStatus.COMPLETED, 1, [1])
    assert "taking missing files of library" in caplog.text
