"""What IPTV players read over HTTP: the M3U playlist, the XMLTV guide (the same playout
rows the API lists, validated by the real ``tv_validate_file``), logos, base URLs, and the
stream URLs while live streaming is not available."""

from __future__ import annotations

import asyncio
import gzip
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx
import pytest
from ipytv import playlist  # type: ignore[import-untyped]  # no stubs or py.typed

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.services.container import Container, open_container, start_up
from exstreamtv.services.streaming import StreamingService
from exstreamtv.store.channels import ChannelFields
from exstreamtv.web.app import create_app
from tests.lineups import HOSTILE, episode, movie, on_air, parse_guide, tv_validate
from tests.seeding import T0, ManualClock
from tests.stream_sources import RefusingSource
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLAYLISTS = ["/iptv/channels.m3u", "/iptv.m3u"]
GUIDES = ["/iptv/xmltv.xml", "/xmltv.xml"]
FAILURES = "exstreamtv_guide_validation_failures_total"


@pytest.fixture
async def tv(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    """A container (SQLite) with a 2 h horizon on a clock that stands at ``T0``, whose
    stream source refuses every tune (no FFmpeg: these tests are about URLs and answers)."""
    settings = make_settings(playout={"horizon_hours": 2})
    async with open_container(settings, clock=ManualClock()) as opened:
        refusing = StreamingService(
            opened.channels, opened.streaming.tuners, RefusingSource(), opened.metrics
        )
        object.__setattr__(opened, "streaming", refusing)  # the container is frozen
        yield opened


@pytest.fixture
async def player(tv: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(tv) as opened:
        yield opened


async def add_channel(client: httpx.AsyncClient, number: str, name: str, **fields: Any) -> int:
    created = await client.post("/api/channels", json={"number": number, "name": name, **fields})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def extinf_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#EXTINF")]


def urls_in(text: str) -> list[str]:
    return re.findall(r'https?://[^\s"]+', text)


def stamp(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y%m%d%H%M%S +0000")


# --- M3U ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PLAYLISTS)
async def test_playlist_lists_each_channel_with_its_tvg_attributes_and_ts_url(
    player: httpx.AsyncClient, path: str
) -> None:
    first = await add_channel(player, "5.1", "Movies", group="Films")
    second = await add_channel(player, "12", "News, Weather & Sport")

    response = await player.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("audio/x-mpegurl")
    guide = "http://localhost/iptv/xmltv.xml"
    assert response.text.splitlines() == [
        f'#EXTM3U url-tvg="{guide}" x-tvg-url="{guide}"',
        f'#EXTINF:-1 tvg-id="ch{first}.exstreamtv" tvg-chno="5.1" tvg-name="Movies" '
        'tvg-logo="http://localhost/iptv/logos/5.1.png" group-title="Films" catchup="default" '
        'catchup-days="7" catchup-source="http://localhost/iptv/channel/5.1/catchup.ts'
        '?start={utc}&end={utcend}",Movies',
        "http://localhost/iptv/channel/5.1.ts",
        f'#EXTINF:-1 tvg-id="ch{second}.exstreamtv" tvg-chno="12" '
        'tvg-name="News, Weather & Sport" tvg-logo="http://localhost/iptv/logos/12.png" '
        'catchup="default" catchup-days="7" catchup-source="http://localhost/iptv/channel/12/'
        'catchup.ts?start={utc}&end={utcend}",News, Weather & Sport',
        "http://localhost/iptv/channel/12.ts",
    ]


async def test_hls_mode_lists_m3u8_stream_urls(player: httpx.AsyncClient) -> None:
    await add_channel(player, "1", "One")
    await add_channel(player, "2.5", "Two")

    text = (await player.get("/iptv/channels.m3u", params={"mode": "hls"})).text

    streams = [line for line in text.splitlines() if not line.startswith("#")]
    assert streams == [
        "http://localhost/iptv/channel/1.m3u8",
        "http://localhost/iptv/channel/2.5.m3u8",
    ]
    assert_problem(await player.get("/iptv/channels.m3u", params={"mode": "dash"}), 422)


async def test_disabled_channels_are_left_out_of_the_playlist(player: httpx.AsyncClient) -> None:
    await add_channel(player, "1", "On")
    await add_channel(player, "2", "Off", enabled=False)

    lines = extinf_lines((await player.get("/iptv.m3u")).text)

    assert [line.rsplit(",", 1)[1] for line in lines] == ["On"]


async def test_a_real_parser_reads_the_playlist_and_its_ids_are_the_guide_ids(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [episode("Show", 1)], name="Shows & More")
    await on_air(tv, "2.1", [movie("Film")], name="Films 🎬")
    await add_channel(player, "3", "Nothing Yet", group="Misc")

    parsed = playlist.loads((await player.get("/iptv/channels.m3u")).text)
    channels, _ = parse_guide((await player.get("/iptv/xmltv.xml")).content)

    ids = [c.attributes["tvg-id"] for c in parsed.get_channels()]
    assert ids == list(channels)
    assert [c.name for c in parsed.get_channels()] == ["Shows & More", "Films 🎬", "Nothing Yet"]
    assert [c.url for c in parsed.get_channels()][1] == "http://localhost/iptv/channel/2.1.ts"
    assert parsed.get_attribute("url-tvg") == "http://localhost/iptv/xmltv.xml"


async def test_access_token_is_required_and_carried_into_every_url(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"access_token": "s3cret"}, playout={"horizon_hours": 2})
    async with open_container(settings) as container, open_client(container) as client:
        await on_air(container, "1", [movie("Film")])
        for path in (*PLAYLISTS, *GUIDES, "/iptv/logos/1.png", "/iptv/channel/1.ts",
                     "/iptv/channel/1.m3u8", "/iptv/channel/1/hls/0.ts",
                     "/discover.json", "/lineup.json", "/auto/v1"):  # fmt: skip
            assert_problem(await client.get(path), 401)
            assert_problem(await client.get(path, params={"token": "wrong"}), 401)
            # Wrong tokens back off per address (tests/security); start each path afresh.
            container.sign_ins.succeeded("127.0.0.1")

        by_query = await client.get("/iptv/channels.m3u", params={"token": "s3cret"})
        by_header = await client.get("/iptv/channels.m3u", headers={"X-Access-Token": "s3cret"})
        hls = await client.get("/iptv/channels.m3u", params={"token": "s3cret", "mode": "hls"})
        guide = await client.get("/iptv/xmltv.xml", params={"token": "s3cret"})

    for playlist_text in (by_query.text, by_header.text, hls.text):
        urls = urls_in(playlist_text)
        assert len(urls) == 5  # url-tvg, x-tvg-url, logo, catch-up template, stream
        assert all(url.endswith("token=s3cret") for url in urls), urls
    icons = re.findall(r'<icon src="([^"]+)"', guide.text)
    assert icons == ["http://localhost/iptv/logos/1.png?token=s3cret"]


async def test_a_token_with_url_syntax_in_it_is_encoded_so_the_listed_urls_work(
    make_settings: SettingsFactory,
) -> None:
    token = "a&b=c d/é"
    settings = make_settings(server={"access_token": token}, playout={"horizon_hours": 2})
    async with open_container(settings) as container, open_client(container) as client:
        refusing = StreamingService(
            container.channels, container.streaming.tuners, RefusingSource(), container.metrics
        )
        object.__setattr__(container, "streaming", refusing)  # no FFmpeg: a 503 is enough
        await on_air(container, "1", [movie("Film")])
        text = (await client.get("/iptv.m3u", params={"token": token})).text
        guide_url, _, logo_url, catchup_url, stream_url = urls_in(text)
        guide = await client.get(guide_url)
        logo = await client.get(logo_url)
        stream = await client.get(stream_url)

    assert stream_url == "http://localhost/iptv/channel/1.ts?token=a%26b%3Dc+d%2F%C3%A9"
    assert catchup_url.endswith("end={utcend}&token=a%26b%3Dc+d%2F%C3%A9")
    assert guide.status_code == 200
    assert logo.content.startswith(PNG_SIGNATURE)
    assert assert_problem(stream, 503)["type"] == "urn:exstreamtv:problem:source-unavailable"


async def test_a_token_sent_when_none_is_configured_is_not_copied_into_the_playlist(
    player: httpx.AsyncClient,
) -> None:
    await add_channel(player, "1", "One")

    text = (await player.get("/iptv.m3u", params={"token": '"><script>alert(1)</script>'})).text

    assert "script" not in text
    assert "token" not in text


# --- XMLTV -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GUIDES)
async def test_guide_programmes_are_the_playout_entries_the_api_lists(
    tv: Container, player: httpx.AsyncClient, path: str
) -> None:
    await on_air(tv, "1", [episode("Show", n) for n in (1, 2, 3)], minutes=25)
    await on_air(tv, "7.2", [movie("Film A"), movie("Film B")], name="Films", minutes=45)
    channel_list = (await player.get("/api/channels")).json()

    response = await player.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    channels, programmes = parse_guide(response.content)
    assert channels == {f"ch{c['id']}.exstreamtv": [c["name"], c["number"]] for c in channel_list}
    window = {
        "from": (T0 - timedelta(hours=1)).isoformat(),
        "to": (T0 + timedelta(hours=2)).isoformat(),
    }
    for channel in channel_list:
        entries = (
            await player.get(f"/api/channels/{channel['number']}/playout", params=window)
        ).json()
        expected = [
            (
                stamp(group[0]["start"]),
                stamp(group[-1]["finish"]),
                group[0]["show"] or group[0]["title"],
            )
            for group in (list(g) for _, g in groupby(entries, lambda e: e["guide_group"]))
        ]
        guide_id = f"ch{channel['id']}.exstreamtv"
        assert [(p.start, p.stop, p.title) for p in programmes if p.channel == guide_id] == expected
        assert len(expected) >= 3


async def test_served_guide_passes_tv_validate_file(
    tv: Container, player: httpx.AsyncClient, tmp_path: Path
) -> None:
    await on_air(tv, "1", [episode("Show", n) for n in (1, 2)])
    await on_air(tv, "2", [movie("Film", year=1999, genres=("Drama",), plot="A plot.")])
    await add_channel(player, "3", "Unscheduled")

    document = (await player.get("/xmltv.xml")).content

    assert "Validated ok." in await tv_validate(document, tmp_path)


@pytest.mark.slow
async def test_guide_of_the_demo_channels_passes_tv_validate_file(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(demo={"enabled": True}, playout={"horizon_hours": 2})
    async with open_container(settings) as container:
        await start_up(container, extend_playouts=False)
        async with open_client(container) as client:
            document = (await client.get("/iptv/xmltv.xml")).content

    assert "Validated ok." in await tv_validate(document, tmp_path)
    channels, programmes = parse_guide(document)
    assert [names[0] for names in channels.values()] == ["Demo Shows", "Demo Movies"]
    assert {p.title for p in programmes} >= {"Color Bars Theater", "Tone Patrol"}


async def test_a_lineup_of_hostile_channel_names_and_titles_still_validates(
    tv: Container, player: httpx.AsyncClient, tmp_path: Path
) -> None:
    for index, text in enumerate(HOSTILE, start=1):
        media = [movie(text, plot=text, genres=(text,)), episode(text, 1, title=text)]
        await on_air(tv, str(index), media, name=f"{index} {text}")

    document = (await player.get("/iptv/xmltv.xml")).content
    text = (await player.get("/iptv/channels.m3u")).text

    assert "Validated ok." in await tv_validate(document, tmp_path)
    channels, _ = parse_guide(document)
    assert [names[0] for names in channels.values()][:2] == [f"1 {HOSTILE[0]}", f"2 {HOSTILE[1]}"]
    parsed = playlist.loads(text)
    assert [c.attributes["tvg-id"] for c in parsed.get_channels()] == list(channels)
    assert len(extinf_lines(text)) == len(HOSTILE)


async def test_gzip_guide_decompresses_to_the_plain_guide(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [episode("Show", n) for n in (1, 2)])
    plain = await player.get("/iptv/xmltv.xml", headers={"Accept-Encoding": "identity"})

    async with player.stream(
        "GET", "/iptv/xmltv.xml", headers={"Accept-Encoding": "gzip"}
    ) as compressed:
        raw = b"".join([chunk async for chunk in compressed.aiter_raw()])

    assert "content-encoding" not in plain.headers
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["vary"] == "Accept-Encoding"
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == plain.content
    assert plain.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


async def test_guide_has_validators_and_answers_304_when_unchanged(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [movie("Film")])

    first = await player.get("/iptv/xmltv.xml")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["last-modified"] == "Mon, 02 Mar 2026 12:00:00 GMT"
    assert first.headers["cache-control"].startswith("max-age=")

    again = await player.get("/iptv/xmltv.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await player.get("/iptv/xmltv.xml", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == first.content


@pytest.mark.parametrize("form", ["W/{etag}", '"other", {etag}', "*"])
async def test_if_none_match_takes_weak_tags_lists_and_a_wildcard(
    tv: Container, player: httpx.AsyncClient, form: str
) -> None:
    await on_air(tv, "1", [movie("Film")])
    etag = (await player.get("/xmltv.xml")).headers["etag"]

    again = await player.get("/xmltv.xml", headers={"If-None-Match": form.format(etag=etag)})

    assert again.status_code == 304


async def test_rebuilding_a_playout_changes_the_etag(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [episode("Show", n) for n in (1, 2, 3)])
    etag = (await player.get("/iptv/xmltv.xml")).headers["etag"]

    rebuilt = await player.post("/api/channels/1/playout/build", params={"mode": "reset"})
    assert rebuilt.status_code == 200, rebuilt.text

    after = await player.get("/iptv/xmltv.xml", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag


async def test_renaming_a_channel_changes_the_etag_and_shows_the_new_name(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [movie("Film")], name="Before")
    etag = (await player.get("/iptv/xmltv.xml")).headers["etag"]

    renamed = await player.put("/api/channels/1", json={"number": "1", "name": "After"})
    assert renamed.status_code == 200

    after = await player.get("/iptv/xmltv.xml", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert [names[0] for names in parse_guide(after.content)[0].values()] == ["After"]
    assert 'tvg-name="After"' in (await player.get("/iptv.m3u")).text


# --- validation --------------------------------------------------------------------------


def assert_refused(response: httpx.Response, reason: str, channel: str | None) -> dict[str, Any]:
    body = assert_problem(response, 503)
    assert body["type"] == "urn:exstreamtv:problem:guide-invalid"
    assert int(response.headers["retry-after"]) > 0
    assert (body["reason"], body["channel"]) == (reason, channel)
    return body


async def failures(client: httpx.AsyncClient, reason: str) -> float:
    text = (await client.get("/metrics")).text
    found = re.search(rf'^{FAILURES}{{reason="{reason}"}} (\S+)$', text, re.MULTILINE)
    return float(found[1]) if found else 0.0


@pytest.mark.parametrize("path", [*GUIDES, *PLAYLISTS])
async def test_no_enabled_channels_is_a_503_with_retry_after(
    player: httpx.AsyncClient, path: str
) -> None:
    await add_channel(player, "1", "Off", enabled=False)

    body = assert_refused(await player.get(path), "no_channels", None)

    assert "no enabled channels" in body["detail"]
    assert await failures(player, "no_channels") == 1


async def test_a_blank_channel_name_is_refused_by_the_api_and_an_empty_one_is_a_503(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await add_channel(player, "1", "Fine")
    blank = await player.post("/api/channels", json={"number": "2", "name": "   "})
    assert blank.status_code == 422 and "name" in blank.text  # the API refuses a blank name
    await tv.channels.create(ChannelFields(ChannelNumber(3), ""))  # only the store allows ""

    body = assert_refused(await player.get("/iptv/xmltv.xml"), "empty_channel_name", "3")

    assert "channel 3" in body["detail"]
    assert_refused(await player.get("/iptv/channels.m3u"), "empty_channel_name", "3")
    assert await failures(player, "empty_channel_name") >= 2


async def test_a_placeholder_media_title_is_a_503_naming_the_channel(
    tv: Container, player: httpx.AsyncClient
) -> None:
    await on_air(tv, "1", [movie("Good Film")])
    await on_air(tv, "4", [movie("Fine"), movie("Item 123")], name="Upstream Import")

    body = assert_refused(await player.get("/iptv/xmltv.xml"), "placeholder_title", "4")

    assert "Upstream Import" in body["detail"] and "Item 123" in body["detail"]
    assert await failures(player, "placeholder_title") == 1
    assert (await player.get("/iptv/channels.m3u")).status_code == 200  # the lineup is fine


async def test_an_unnumbered_episode_is_a_503_when_episode_numbers_are_required(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(epg={"episode_num_required": True}, playout={"horizon_hours": 2})
    async with open_container(settings, clock=ManualClock()) as container:
        unnumbered = replace(episode("Show", 1), episode=None)
        await on_air(container, "9", [unnumbered])
        async with open_client(container) as client:
            body = assert_refused(await client.get("/xmltv.xml"), "missing_episode_num", "9")
            assert await failures(client, "missing_episode_num") == 1
    assert "episode number" in body["detail"]


# --- logos -------------------------------------------------------------------------------


async def test_a_channel_without_a_logo_gets_a_generated_png_made_once(
    tv: Container, player: httpx.AsyncClient
) -> None:
    channel_id = await add_channel(player, "4.1", "Tiles")

    first = await player.get("/iptv/logos/4.1.png")

    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(PNG_SIGNATURE)
    cached = tv.settings.data_dir / "logos" / "generated" / f"{channel_id}-4.1.png"
    assert cached.read_bytes() == first.content
    marker = PNG_SIGNATURE + b"served from the cache"
    cached.write_bytes(marker)
    assert (await player.get("/iptv/logos/4.1.png")).content == marker


async def test_an_uploaded_logo_in_the_logos_folder_is_served(
    tv: Container, player: httpx.AsyncClient
) -> None:
    own = PNG_SIGNATURE + b"own logo"
    folder = tv.settings.data_dir / "logos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.png").write_bytes(own)
    await add_channel(player, "1", "Own", logo="mine.png")

    assert (await player.get("/iptv/logos/1.png")).content == own


@pytest.mark.parametrize(
    "logo",
    ["../../etc/passwd", "/etc/passwd", "../secret.png", "link.png", "../../../../etc/hostname"],
)
async def test_a_logo_path_outside_the_logos_folder_is_never_served(
    tv: Container, player: httpx.AsyncClient, logo: str
) -> None:
    data = tv.settings.data_dir
    (data / "secret.png").write_bytes(b"SECRET")
    (data / "logos").mkdir(parents=True, exist_ok=True)
    (data / "logos" / "link.png").symlink_to(data / "secret.png")
    await add_channel(player, "1", "Sneaky", logo=logo)

    response = await player.get("/iptv/logos/1.png")

    assert response.status_code == 200
    assert response.content.startswith(PNG_SIGNATURE)  # the generated tile
    assert b"SECRET" not in response.content and b"root:" not in response.content


async def test_logo_of_an_unknown_channel_is_404(player: httpx.AsyncClient) -> None:
    assert_problem(await player.get("/iptv/logos/42.png"), 404)
    assert_problem(await player.get("/iptv/logos/abc.png"), 422)


# --- base URL ----------------------------------------------------------------------------

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "tv.example.org",
    "X-Forwarded-Prefix": "/exstream/",
}


async def playlist_from(
    container: Container, *, client_ip: str = "127.0.0.1", **headers: str
) -> str:
    """The playlist of channel 1, requested from ``client_ip`` with ``headers``."""
    if not await container.channels.channels():
        async with open_client(container) as local:
            await add_channel(local, "1", "One")
    app = await asyncio.to_thread(create_app, container)  # as the server: off the loop
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get("/iptv/channels.m3u", headers=headers)
    assert response.status_code == 200, response.text
    return response.text


async def test_forwarded_headers_from_a_trusted_proxy_shape_the_urls(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(
        server={"trusted_proxies": ["127.0.0.1/32"], "allowed_hosts": ["tv.example.org"]}
    )
    async with open_container(settings) as container:
        urls = urls_in(await playlist_from(container, **FORWARDED))

    assert urls[0] == "https://tv.example.org/exstream/iptv/xmltv.xml"
    assert all(url.startswith("https://tv.example.org/exstream/iptv/") for url in urls)


async def test_forwarded_headers_are_ignored_without_trusted_proxies(tv: Container) -> None:
    urls = urls_in(await playlist_from(tv, **FORWARDED))

    assert all(url.startswith("http://localhost/iptv/") for url in urls), urls


async def test_forwarded_headers_are_ignored_from_an_untrusted_address(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"trusted_proxies": ["127.0.0.1/32"]})
    async with open_container(settings) as container:
        urls = urls_in(await playlist_from(container, client_ip="192.0.2.7", **FORWARDED))

    assert all(url.startswith("http://localhost/iptv/") for url in urls), urls


@pytest.mark.parametrize("header", ["Host", "X-Forwarded-Host"])
@pytest.mark.parametrize("hostile", ['evil.com"><script>', "evil.example"])
async def test_a_hostile_host_is_refused_before_it_reaches_the_playlist(
    make_settings: SettingsFactory, header: str, hostile: str
) -> None:
    settings = make_settings(server={"trusted_proxies": ["127.0.0.1/32"], "port": 8411})
    async with open_container(settings) as container, open_client(container) as client:
        await add_channel(client, "1", "One")
        response = await client.get("/iptv/channels.m3u", headers={header: hostile})

    assert "evil" not in assert_problem(response, 421)["detail"]


async def test_hostile_forwarded_proto_and_prefix_are_ignored(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(server={"trusted_proxies": ["127.0.0.1/32"]})
    async with open_container(settings) as container:
        hostile = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Prefix": '/a"><b'}
        urls = urls_in(await playlist_from(container, **hostile))

    assert all(url.startswith("http://localhost/iptv/") for url in urls), urls


async def test_configured_base_url_overrides_the_request(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        server={
            "base_url": "https://media.example.net/tv/",
            "trusted_proxies": ["127.0.0.1/32"],
            "allowed_hosts": ["tv.example.org"],
        }
    )
    async with open_container(settings) as container:
        urls = urls_in(await playlist_from(container, **FORWARDED))

    assert all(url.startswith("https://media.example.net/tv/iptv/") for url in urls), urls


# --- stream URLs while live streaming is not available -----------------------------------


@pytest.mark.parametrize("suffix", ["ts", "m3u8"])
async def test_a_refused_stream_is_a_503_problem_and_frees_the_tuner(
    tv: Container, player: httpx.AsyncClient, suffix: str
) -> None:
    await add_channel(player, "1", "One")

    response = await player.get(f"/iptv/channel/1.{suffix}")

    body = assert_problem(response, 503)
    assert body["type"] == "urn:exstreamtv:problem:source-unavailable"
    assert "cannot be streamed" in body["detail"]
    assert int(response.headers["retry-after"]) > 0
    assert tv.streaming.tuners.status().in_use == 0


@pytest.mark.parametrize("suffix", ["ts", "m3u8"])
async def test_stream_urls_check_the_channel_first(player: httpx.AsyncClient, suffix: str) -> None:
    await add_channel(player, "2", "Off", enabled=False)

    assert_problem(await player.get(f"/iptv/channel/9.{suffix}"), 404)
    assert_problem(await player.get(f"/iptv/channel/2.{suffix}"), 404)
    assert_problem(await player.get(f"/iptv/channel/x.{suffix}"), 422)


async def test_hls_segment_urls_carry_the_access_token(make_settings: SettingsFactory) -> None:
    token = "a&b=c d/é"
    settings = make_settings(server={"access_token": token}, playout={"horizon_hours": 2})
    async with open_container(settings) as container, open_client(container) as client:
        held = StreamingService(
            container.channels, container.streaming.tuners, OnePlaylist(), container.metrics
        )
        object.__setattr__(container, "streaming", held)
        await on_air(container, "1", [movie("Film")])
        playlist = await client.get("/iptv/channel/1.m3u8", params={"token": token})
        segment_url = playlist.url.join(playlist.text.splitlines()[-1])
        segment = await client.get(segment_url)

    assert playlist.status_code == 200, playlist.text
    assert segment_url.path == "/iptv/channel/1/hls/3.ts"
    assert segment_url.params["token"] == token
    assert segment.status_code == 200 and segment.content == b"G" + bytes(187)


class OnePlaylist(RefusingSource):
    """A live channel whose playlist lists one segment, number 3."""

    async def playlist(self, channel: Channel, segment_url: str) -> str:
        return f"#EXTM3U\n#EXTINF:4.000,\n{segment_url.format(sequence=3)}\n"

    def segment(self, number: ChannelNumber, sequence: int) -> bytes | None:
        return b"G" + bytes(187) if sequence == 3 else None
