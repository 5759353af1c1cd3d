"""Online sources through the API and the scan: what is imported, what fails with a reason,
and that no URL credential, cookie or header reaches an answer, a log line or the database
in plain text."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from exstreamtv.domain.libraries import (
    LibraryKind,
    OnlineSecrets,
    OnlineSettings,
    ScanStatus,
    SourceKind,
)
from exstreamtv.domain.media import MediaKind, MetadataStatus
from exstreamtv.errors import SourceUnavailable
from exstreamtv.services.container import Container, start_up
from exstreamtv.sources.iptv import IptvClient
from exstreamtv.sources.server_http import ServerHttp
from exstreamtv.store.media import MediaFilter
from tests.media_servers.loopback import LoopbackServer
from tests.media_servers.test_cli import _cli
from tests.online.conftest import ContainerFactory
from tests.online.fake_archive import FakeArchive
from tests.online.site import ACCOUNT, PASSWORD, MediaSite
from tests.web.client import assert_problem, open_client

TOKEN = "signed-url-token-1618"
COOKIE = "SID=cookie-secret-4669"
HEADER = "Bearer header-secret-2718"


async def _database_text(container: Container) -> str:
    async with container.engine.connect() as conn:
        rows = await conn.execute(text("SELECT credential, settings FROM media_sources"))
        stored = " ".join(f"{a} {b}" for a, b in rows)
        keys = await conn.execute(text("SELECT path, stream_key FROM media_items"))
        return stored + " ".join(f"{a} {b}" for a, b in keys)


def leaked(secret: str, records: list[logging.LogRecord], container: Container) -> bool:
    """Whether ``secret`` shows in our own log lines, or in any line once redacted as the
    log handler redacts it (third-party libraries log URLs as they are)."""
    ours = [r.getMessage() for r in records if r.name.startswith("exstreamtv")]
    shown = [container.redactor.redact(r.getMessage()) for r in records]
    return any(secret in line for line in ours + shown)


async def _scan(container: Container, library_id: int) -> None:
    result = await container.libraries.scan(library_id)
    assert result.status is ScanStatus.COMPLETED, result.error


async def test_remote_files_are_probed_over_http_and_a_missing_one_fails_with_a_reason(
    make_container: ContainerFactory,
    site: tuple[MediaSite, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _, server = site
    body = {
        "kind": "remote", "name": "Clips", "library_kind": "movies",
        "urls": [f"{server.url}/clip.mp4?token={TOKEN}", f"{server.url}/hls/index.m3u8",
                 f"{server.url}/missing.mp4"],
        "headers": {"Authorization": HEADER},
    }  # fmt: skip
    async with make_container() as container, open_client(container) as client:
        refused = await client.post(
            "/api/online-sources", json={**body, "urls": ["file:///etc/passwd"]}
        )
        assert "only http(s) URLs" in assert_problem(refused, 422)["detail"]
        created = await client.post("/api/online-sources", json=body)
        assert created.status_code == 201, created.text
        source = created.json()
        assert source["locations"] == [
            f"{server.url}/clip.mp4", f"{server.url}/hls/index.m3u8", f"{server.url}/missing.mp4",
        ]  # fmt: skip
        await _scan(container, source["library_id"])
        media = await client.get("/api/media", params={"library_id": source["library_id"]})
        problems = await client.get(f"/api/libraries/{source['library_id']}/problems")
        pages = [created.text, media.text, problems.text]
        stored = await _database_text(container)
        deleted = await client.delete(f"/api/online-sources/{source['id']}")
        assert deleted.status_code == 204
        assert (await client.get(f"/api/online-sources/{source['id']}")).status_code == 404
        assert (await client.get(f"/api/libraries/{source['library_id']}")).status_code == 404

    found = {m["path"]: m for m in media.json()["items"]}
    clip = found[f"{server.url}/clip.mp4"]
    assert (clip["title"], clip["kind"], clip["duration_ms"]) == ("clip", "movie", 3000)
    assert clip["video_codec"] == "h264"
    hls = found[f"{server.url}/hls/index.m3u8"]
    assert hls["duration_ms"] == pytest.approx(3000, abs=100)
    missing = found[f"{server.url}/missing.mp4"]
    assert missing["metadata"]["status"] == "failed"
    assert missing["metadata"]["reason"] == "online source 'Clips' refused the stream (HTTP 404)"
    assert [p["path"] for p in problems.json()] == [f"Clips: {server.url}/missing.mp4"]
    for secret in (TOKEN, HEADER):
        assert all(secret not in page for page in pages)
        assert not leaked(secret, caplog.records, container)
        assert secret not in stored


async def test_an_archive_collection_imports_each_item_from_its_best_video_file(
    make_container: ContainerFactory, archive: tuple[FakeArchive, LoopbackServer]
) -> None:
    fake, server = archive
    async with make_container(online_sources={"archive_org_url": server.url}) as container:
        async with open_client(container) as client:
            created = await client.post(
                "/api/online-sources",
                json={
                    "kind": "archive_org",
                    "name": "Prelinger",
                    "query": "prelinger",
                    "library_kind": "movies",
                },
            )
            assert created.status_code == 201, created.text
            library_id = created.json()["library_id"]
        await _scan(container, library_id)
        items, total = await container.catalog.search(MediaFilter(library_id=library_id), 0, 9)
        problems = await container.libraries.problems(library_id)

    assert total == 4  # three films and one without video; not the audio, not elsewhere
    assert all("collection:prelinger" in q and "mediatype" in q for q in fake.searches)
    assert len(fake.searches) == 2  # 4 results in pages of 3: followed to numFound
    films = {i.metadata.title: i for i in items}
    duck = films["Duck and Cover"]
    assert duck.path == f"{server.url}/details/reel_00"
    assert duck.technical is not None and duck.technical.duration_ms == 3000
    assert (duck.metadata.kind, duck.metadata.year) == (MediaKind.MOVIE, 1950)
    assert duck.metadata.plot == "An educational film, part 0."
    assert duck.metadata.genres == ("civil defense", "atomic", "Ephemeral films")
    assert dict(duck.metadata.external_ids) == {"archive_org": "reel_00"}
    stills = films["Silent stills"]
    assert (stills.metadata.status, stills.metadata.reason) == (
        MetadataStatus.FAILED, "the item has no video file",
    )  # fmt: skip
    assert [p.reason for p in problems] == ["the item has no video file"]


async def test_an_iptv_playlist_becomes_live_items_with_groups_and_refused_lines(
    make_container: ContainerFactory,
    site: tuple[MediaSite, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, server = site
    fake.playlist_extra = (
        "#EXTINF:-1,Injected\u2028#EXTINF:-1,Evil\nhttp://evil.example/x.ts\n"
        f"#EXTINF:-1,{'Z' * 500}\nhttp://tv.example/z.ts\n"
        "#EXTINF:-1,Pipe\npipe:0\n"
    )
    playlist = f"{server.url}/get.php?username={ACCOUNT}&password={PASSWORD}&type=m3u_plus"
    async with make_container() as container, open_client(container) as client:
        created = await client.post(
            "/api/online-sources",
            json={"kind": "iptv", "name": "Tele", "urls": [playlist], "live_minutes": 30},
        )
        assert created.status_code == 201, created.text
        source = created.json()
        assert source["locations"] == [f"{server.url}/get.php"]
        await _scan(container, source["library_id"])
        media = await client.get("/api/media", params={"library_id": source["library_id"]})
        problems = await client.get(f"/api/libraries/{source['library_id']}/problems")
        collections = [c.name for c in await container.catalog.collections() if not c.automatic]
        again = await container.libraries.scan(source["library_id"])
        orphaning = await client.delete(f"/api/libraries/{source['library_id']}")
        assert "delete the source" in assert_problem(orphaning, 409)["detail"]
        pages = [created.text, media.text, problems.text]
        stored = await _database_text(container)

    live = {m["title"]: m for m in media.json()["items"]}
    assert set(live) == {"News One", "Documentaries"}
    news = live["News One"]
    assert (news["kind"], news["duration_ms"], news["path"]) == (
        "live",
        30 * 60_000,
        "iptv:tvg:news.one",
    )
    assert collections == ["News (Tele)"]
    assert {(p["path"], p["reason"]) for p in problems.json()} == {
        ("playlist line 7", "refused: the name holds control or direction-override characters"),
        ("playlist line 9", "refused: the name is longer than 200 characters"),
        ("playlist line 11", "refused: only http(s) URLs are read, not 'pipe'"),
        # the playlist names a guide that is not there: a problem, not a failed scan
        (
            "the playlist's guide",
            f"online source 'Tele' answered HTTP 404 for {server.url}/guide.xml",
        ),
    }
    assert (again.counts.unchanged, again.counts.added) == (2, 0)
    assert all(PASSWORD not in page for page in pages)
    assert not leaked(PASSWORD, caplog.records, container)
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("status", "up"),
    [(200, True), (405, True), (400, True), (404, False), (410, False), (503, False)],
)
async def test_an_iptv_stream_check_counts_a_refused_head_as_up_but_not_a_missing_stream(
    status: int, up: bool
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status))
    http = ServerHttp("", label="1", name="Tele", headers={}, transport=transport)
    client = IptvClient(http, "http://tv.example/list.m3u", live_minutes=60)
    try:
        if up:
            await client.check("http://tv.example/live/1.ts")
        else:
            with pytest.raises(SourceUnavailable, match=f"HTTP {status}"):
                await client.check("http://tv.example/live/1.ts")
    finally:
        await client.aclose()


async def test_the_command_line_adds_scans_and_lists_an_online_source_without_its_secrets(
    site: tuple[MediaSite, LoopbackServer], tmp_path: Path
) -> None:
    _, server = site
    data = ["--data-dir", str(tmp_path / "data")]
    playlist = f"{server.url}/get.php?username={ACCOUNT}&password={PASSWORD}"
    status, added = await _cli("online", "add", "iptv", "--name", "Tele", "--url", playlist, *data)
    assert status == 0, added
    assert "added iptv source 1: Tele; scan it with `exstreamtv scan 1`" in added
    status, listed = await _cli("online", "list", *data)
    assert status == 0, listed
    assert f"1  iptv        Tele  library 1  [{server.url}/get.php]" in listed
    assert all(PASSWORD not in out for out in (added, listed))


async def test_a_restarted_server_masks_stored_source_secrets_before_anything_logs(
    make_container: ContainerFactory,
) -> None:
    path = f"/live/{ACCOUNT}/{PASSWORD}/playlist.m3u"  # credentials in the path, as some do
    async with make_container() as container:
        await container.online.create(
            SourceKind.IPTV, "Tele", LibraryKind.OTHER,
            OnlineSecrets(urls=(f"http://tv.example{path}",)), OnlineSettings(),
        )  # fmt: skip
    async with make_container() as restarted:  # a new process: a redactor that knows nothing
        line = f"GET {path} 200"
        assert PASSWORD in restarted.redactor.redact(line)
        await start_up(restarted, extend_playouts=False)
        assert PASSWORD not in restarted.redactor.redact(line)


async def test_an_online_source_is_renamed_and_repointed_keeping_its_secrets_unless_replaced(
    make_container: ContainerFactory,
) -> None:
    body = {"kind": "youtube", "name": "Walks", "urls": ["https://v.example/list?k=1"],
            "cookies": COOKIE}  # fmt: skip
    async with make_container() as container, open_client(container) as client:
        created = (await client.post("/api/online-sources", json=body)).json()
        renamed = await client.put(
            f"/api/online-sources/{created['id']}",
            json={"name": "Strolls", "keep_local_copy": True, "rate_per_minute": 10},
        )
        assert renamed.status_code == 200, renamed.text
        kept = renamed.json()
        assert (kept["name"], kept["keep_local_copy"], kept["rate_per_minute"]) == (
            "Strolls", True, 10,
        )  # fmt: skip
        assert (kept["locations"], kept["has_cookies"]) == (["https://v.example/list"], True)
        library = (await client.get(f"/api/libraries/{created['library_id']}")).json()
        assert library["name"] == "Strolls"
        repointed = await client.put(
            f"/api/online-sources/{created['id']}",
            json={"name": "Strolls", "source": {"urls": ["https://w.example/other"]}},
        )
        assert repointed.json()["locations"] == ["https://w.example/other"]
        assert repointed.json()["has_cookies"] is False  # replaced as a whole
        assert COOKIE not in renamed.text + repointed.text
