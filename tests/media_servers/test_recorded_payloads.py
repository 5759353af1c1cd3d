"""The clients read recorded server payloads correctly, and the fakes the other tests run
against emit nothing the recorded payloads do not have."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from exstreamtv.domain.libraries import LibraryKind, SourceKind
from exstreamtv.domain.media import MediaKind
from exstreamtv.sources.base import RemoteLibrary
from exstreamtv.sources.jellyfin import JellyfinClient
from exstreamtv.sources.plex import PlexClient
from exstreamtv.sources.server_http import ServerHttp
from tests.media_servers.catalogue import Catalogue, episodes
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import _video

FIXTURES = Path(__file__).parent.parent / "fixtures"
BASE = "http://server.test:32400"


def _recorded(routes: dict[str, str]) -> httpx.MockTransport:
    """A transport answering each path with a recorded file (404 otherwise)."""

    def handle(request: httpx.Request) -> httpx.Response:
        name = routes.get(request.url.path)
        if name is None:
            return httpx.Response(404)
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())

    return httpx.MockTransport(handle)


def _http(routes: dict[str, str]) -> ServerHttp:
    return ServerHttp(BASE, label="1", name="Recorded", headers={}, transport=_recorded(routes))


async def test_plex_sections_and_a_full_movie_are_read_from_recorded_xml() -> None:
    client = PlexClient(
        _http(
            {
                "/library/sections": "plex/sections.xml",
                "/library/metadata/108": "plex/movie_metadata.xml",
            }
        ),
        SecretStr("t0ken"),
    )
    sections = {lib.title: lib for lib in await _sections(client)}
    assert {t: s.kind for t, s in sections.items()} == {
        "Movies": LibraryKind.MOVIES,
        "TV Shows": LibraryKind.SHOWS,
        "Music": None,
    }
    assert sections["Movies"].paths == ("/storage/media/movies",)

    (movie,) = await client.items(sections["Movies"], ["108"])
    assert (movie.remote_id, movie.stamp, movie.size) == ("108", "1663510739", 13400382)
    assert movie.path == "/data/Movies/Interstate 60 (2002).mkv"
    assert movie.stream_key == "/library/parts/96/1579478991/file.mkv"
    meta, tech = movie.metadata, movie.technical
    assert tech is not None
    assert (meta.kind, meta.title, meta.year, meta.content_rating) == (
        MediaKind.MOVIE,
        "Interstate 60",
        2002,
        "R",
    )
    assert dict(meta.external_ids) == {"imdb": "tt0165832", "tmdb": "1234", "tvdb": "5678"}
    assert meta.genres == ("Adventure",)
    assert (tech.duration_ms, tech.container, tech.video_codec, tech.width, tech.height) == (
        5_062_000,
        "mkv",
        "h264",
        1280,
        720,
    )
    assert (tech.fps, tech.audio_codec, tech.audio_channels, tech.sample_rate) == (
        25.0,
        "aac",
        1,
        44100,
    )
    assert [c.end_ms for c in tech.chapters] == [609_443, 5_062_000]
    async with client.open_stream("108", movie.stream_key, {"Range": "bytes=9-"}) as response:
        assert str(response.request.url) == f"{BASE}/library/parts/96/1579478991/file.mkv"
        assert response.request.headers["range"] == "bytes=9-"
    await client.aclose()


async def test_a_recorded_plex_episode_page_is_enumerated_with_its_stamps() -> None:
    client = PlexClient(
        _http({"/library/sections/2/all": "plex/episodes_page.xml"}), SecretStr("t")
    )
    shows = RemoteLibrary("2", "TV Shows", LibraryKind.SHOWS)
    pages = [page async for page in client.stamps(shows)]
    assert [[(s.remote_id, s.stamp) for s in page] for page in pages] == [[("5", "1691510335")]]
    await client.aclose()


async def test_jellyfin_libraries_and_an_episode_are_read_from_recorded_json() -> None:
    client = JellyfinClient(
        _http(
            {
                "/Library/VirtualFolders": "jellyfin/virtual_folders.json",
                "/Items": "jellyfin/items_episode.json",
            }
        ),
        SecretStr("k"),
        SourceKind.JELLYFIN,
    )
    folders = json.loads((FIXTURES / "jellyfin/virtual_folders.json").read_bytes())
    libraries = [client._library(folder) for folder in folders]
    assert [(lib.title, lib.kind) for lib in libraries] == [
        ("Movies", LibraryKind.MOVIES),
        ("Shows", LibraryKind.SHOWS),
        ("Music", None),
    ]
    (episode,) = await client.items(libraries[1], ["f842a4f8d071cf6b33e02873ba437ed7"])
    meta, tech = episode.metadata, episode.technical
    assert tech is not None
    assert (meta.show, meta.season, meta.episode, meta.title) == ("Example Show", 1, 1, "Pilot")
    assert dict(meta.external_ids) == {"imdb": "tt3320442", "tmdb": "972512", "tvdb": "4971322"}
    assert episode.stamp == "2846513c66333d8c344cf01937502267"
    assert (tech.duration_ms, tech.fps, tech.audio_channels, tech.sample_rate) == (
        2_654_912,
        23.976,
        2,
        44100,
    )
    assert [(c.start_ms, c.end_ms) for c in tech.chapters] == [(0, 600_000), (600_000, 2_654_912)]
    assert meta.artwork.poster == (
        f"{BASE}/Items/2738871d6c4a4b0e9f3c1d2e3f4a5b6c/Images/Primary"
        "?tag=0cd04fe7a1b2c3d4e5f60718293a4b5c"
    )
    await client.aclose()


async def test_an_emby_movie_is_read_with_its_media_source_id_and_without_intro_markers() -> None:
    client = JellyfinClient(
        _http({"/emby/Items": "emby/items_movie.json"}), SecretStr("k"), SourceKind.EMBY
    )
    movies = RemoteLibrary("1", "Movies", LibraryKind.MOVIES)
    (movie,) = await client.items(movies, ["279033"])
    assert movie.stream_key == "mediasource_279033"
    assert movie.technical is not None
    assert [c.title for c in movie.technical.chapters] == ["Chapter 1", "Chapter 2"]
    async with client.open_stream("279033", movie.stream_key, {}) as response:
        assert str(response.request.url) == (
            f"{BASE}/emby/Videos/279033/stream?static=true&MediaSourceId=mediasource_279033"
        )
    await client.aclose()


def test_the_fake_plex_emits_only_attributes_of_the_recorded_payloads() -> None:
    recorded = ET.parse(FIXTURES / "plex/movie_metadata.xml").getroot()  # noqa: S314 - our file
    episode = ET.parse(FIXTURES / "plex/episodes_page.xml").getroot()  # noqa: S314
    catalogue = Catalogue()
    movies = catalogue.library("Movies", "movie", "/m")
    shows = catalogue.library("Shows", "show", "/t")
    fake_movie = _video(catalogue.add(movies, "movie", "M"), movies, detail=True, guids=True)
    (ep,) = episodes(catalogue, shows, "S", 1)
    fake_episode = _video(ep, shows, detail=False, guids=True)
    for fake, real in ((fake_movie, recorded.find("Video")), (fake_episode, episode.find("Video"))):
        assert real is not None
        for tag in ("Video", "Media", "Part", "Stream", "Guid", "Genre", "Chapter"):
            fake_keys = _attributes(fake, tag)
            real_keys = _attributes(real, tag)
            if real_keys:
                assert fake_keys <= real_keys, (tag, fake_keys - real_keys)


def test_the_fake_jellyfin_emits_only_fields_of_the_recorded_payload() -> None:
    recorded = json.loads((FIXTURES / "jellyfin/items_episode.json").read_bytes())["Items"][0]
    fake = FakeJellyfin()
    shows = fake.catalogue.library("Shows", "show", "/media/tv")
    (ep,) = episodes(fake.catalogue, shows, "S", 1)
    fields = {
        "Path",
        "MediaSources",
        "ProviderIds",
        "Overview",
        "Genres",
        "Chapters",
        "Etag",
        "DateCreated",
    }
    dto = fake._dto(ep, shows, fields)
    assert set(dto) <= set(recorded)
    assert set(dto["MediaSources"][0]) <= set(recorded["MediaSources"][0])
    for stream in dto["MediaSources"][0]["MediaStreams"]:
        same = next(
            s for s in recorded["MediaSources"][0]["MediaStreams"] if s["Type"] == stream["Type"]
        )
        assert set(stream) <= set(same)


def _attributes(element: ET.Element, tag: str) -> set[str]:
    found = [element] if element.tag == tag else list(element.iter(tag))
    return {key for e in found for key in e.attrib}


async def _sections(client: PlexClient) -> list[Any]:
    root = await client._xml("/library/sections")
    from exstreamtv.sources.plex import _section

    return [_section(d) for d in root.iter("Directory")]
