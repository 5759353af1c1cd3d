"""Library scans stay inside their folders: system and pseudo trees are refused, paths are
normalised and de-duplicated, symlinks never lead a scan out, and a scan can be stopped."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from exstreamtv.domain.libraries import LibraryKind, ScanStatus
from exstreamtv.errors import LibraryPathInvalid
from exstreamtv.services.container import open_container
from exstreamtv.sources.local import check_library_paths
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaFilter
from tests.security.conftest import Station
from tests.support import build_settings

SCAN_DEADLINE_SEC = 60.0


def create(station: Station, name: str, *paths: str | Path) -> httpx.Response:
    body = {"name": name, "kind": "other", "paths": [str(p) for p in paths]}
    return httpx.post(f"{station.url}/api/libraries", json=body, timeout=30)


def finished_scan(station: Station, library_id: int) -> dict[str, object]:
    deadline = time.monotonic() + SCAN_DEADLINE_SEC
    while time.monotonic() < deadline:
        scan: dict[str, object] = httpx.get(f"{station.url}/api/libraries/{library_id}/scan").json()
        if scan["status"] != "running":
            return scan
        time.sleep(0.1)
    pytest.fail(f"the scan of library {library_id} did not finish in {SCAN_DEADLINE_SEC}s")


@pytest.mark.parametrize("path", ["/proc/self", "/etc", "/root", "/tmp/../etc", "/", "/sys/kernel"])
def test_system_and_pseudo_trees_are_refused_as_library_folders(
    loopback: Station, path: str
) -> None:
    response = create(loopback, f"System {path}", path)
    assert response.status_code == 422, response.text
    assert "allowed_system_paths" in response.json()["detail"] or path == "/"


def test_a_symlink_into_a_system_tree_is_refused_too(loopback: Station, tmp_path: Path) -> None:
    (tmp_path / "innocent").symlink_to("/proc/self")
    response = create(loopback, "Innocent", tmp_path / "innocent")
    assert response.status_code == 422
    assert "/proc/" in response.json()["detail"]


def test_paths_are_normalised_and_duplicates_dropped(loopback: Station, tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "tv").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "alias").symlink_to(media)
    created = create(
        loopback, "Dupes", media, f"{tmp_path}/other/../media/", tmp_path / "alias", media / "tv"
    )
    assert created.status_code == 201, created.text
    assert created.json()["paths"] == [str(media)]


def test_a_symlink_to_the_root_inside_a_library_is_not_walked(
    loopback: Station, tmp_path: Path
) -> None:
    media = tmp_path / "links"
    (media / "Show").mkdir(parents=True)
    (media / "Show" / "Show - S01E01.mp4").write_bytes(b"not really a video")
    (media / "everything").symlink_to("/")
    (media / "Show" / "inside.mp4").symlink_to(media / "Show" / "Show - S01E01.mp4")
    (media / "passwd.mp4").symlink_to("/etc/passwd")
    library_id = create(loopback, "Links", media).json()["id"]
    assert httpx.post(f"{loopback.url}/api/libraries/{library_id}/scan").status_code == 202
    scan = finished_scan(loopback, library_id)

    assert scan["status"] == "completed"
    items = httpx.get(f"{loopback.url}/api/media", params={"library_id": library_id}).json()
    paths = sorted(item["path"] for item in items["items"])
    assert paths == [str(media / "Show" / "Show - S01E01.mp4"), str(media / "Show" / "inside.mp4")]
    problems = httpx.get(f"{loopback.url}/api/libraries/{library_id}/problems").json()
    outside = {p["path"] for p in problems if "outside the library" in p["reason"]}
    assert outside == {str(media / "everything"), str(media / "passwd.mp4")}


def test_a_running_scan_stops_within_a_second_and_the_library_can_then_go(
    loopback: Station, tmp_path: Path
) -> None:
    media = tmp_path / "many"
    for n in range(160):  # not videos: each costs an ffprobe run, so the scan takes a while
        (media / f"folder {n % 20}").mkdir(parents=True, exist_ok=True)
        (media / f"folder {n % 20}" / f"clip {n}.mp4").write_bytes(b"\x00" * 64)
    library_id = create(loopback, "Many", media).json()["id"]
    assert httpx.post(f"{loopback.url}/api/libraries/{library_id}/scan").status_code == 202
    deadline = time.monotonic() + SCAN_DEADLINE_SEC
    while (
        httpx.get(f"{loopback.url}/api/libraries/{library_id}/scan").json()["counts"]["processed"]
        == 0
    ):  # wait for the first batch to be saved
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    cancelled = httpx.post(f"{loopback.url}/api/libraries/{library_id}/scan/cancel", timeout=10)
    took = time.monotonic() - started

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    assert took < 1.0
    counts = cancelled.json()["counts"]
    assert 0 < counts["processed"] < 160
    items = httpx.get(f"{loopback.url}/api/media", params={"library_id": library_id}).json()
    assert items["total"] == counts["processed"]  # what was saved is what it says
    again = httpx.post(f"{loopback.url}/api/libraries/{library_id}/scan/cancel")
    assert again.status_code == 409
    assert httpx.delete(f"{loopback.url}/api/libraries/{library_id}").status_code == 204


def test_a_system_folder_listed_in_the_config_is_allowed() -> None:
    with pytest.raises(LibraryPathInvalid, match="allowed_system_paths"):
        check_library_paths(["/etc/ssl"])
    assert check_library_paths(["/etc/ssl/"], allowed=["/etc/ssl"]) == ["/etc/ssl"]
    with pytest.raises(LibraryPathInvalid, match="inside /etc"):
        check_library_paths(["/etc"], allowed=["/etc/ssl"])  # only what is listed, not above


@pytest.mark.parametrize(
    "raw", ["", "relative/path", "/no/such/folder", "/etc/passwd", "/tmp\x00x"]
)
def test_paths_that_are_not_folders_are_refused(raw: str) -> None:
    with pytest.raises(LibraryPathInvalid):
        check_library_paths([raw])


async def test_a_library_stored_on_proc_self_before_the_upgrade_is_not_scanned(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    async with open_container(build_settings(tmp_path / "data", url)) as container:
        async with transaction(container.sessions) as session:
            library = await LibraryRepository(session).create_local(
                "Old", LibraryKind.OTHER, ["/proc/self"], container.clock.now()
            )
        scan = await container.libraries.scan(library.id)
        items, total = await container.catalog.search(MediaFilter(library_id=library.id), 0, 10)
    assert scan.status is ScanStatus.FAILED
    assert "inside /proc" in str(scan.error)
    assert (items, total) == ([], 0)
