"""Behaviour of the M3U playlist: golden output, a real parser, hostile names.

Golden files change only deliberately: run with ``EXSTREAMTV_UPDATE_GOLDEN=1`` to rewrite
them, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from ipytv import playlist  # type: ignore[import-untyped]  # no stubs or py.typed
from lxml import etree

from exstreamtv.domain.guide import GuideChannel
from exstreamtv.formats.m3u import render_m3u
from exstreamtv.formats.xmltv import render_xmltv

GOLDEN = Path(__file__).parent / "golden"
GUIDE_URL = "http://tv.test:8411/iptv/xmltv.xml?token=abc&x=1"

CHANNELS = [
    GuideChannel(
        "1.exstreamtv",
        "1",
        "Classic TV",
        "Classics",
        "http://tv.test:8411/iptv/logos/1.png",
        "http://tv.test:8411/iptv/channel/1.ts",
    ),
    GuideChannel(
        "2-1.exstreamtv",
        "2.1",
        "Movies, Mostly & More",
        None,
        "",
        "http://tv.test:8411/iptv/channel/2.1.ts",
    ),
]

HOSTILE_NAMES = [
    'The "Best" Channel',
    "Two\nLines\r\nand\ra\ttab",
    "Injected\n#EXTINF:-1,Evil\nhttp://evil.test/",
    'x" tvg-id="evil',
    "Comma, separated, name",
    "Emoji 📺 أخبار חדשות Cafe\u0301",
    "Controls \x00\x07\x1b\x7f\x85 end",
    "Separators \u2028 and \u2029 end",
    "lone \ud800 surrogate \ufffe",
]


def hostile_channels() -> list[GuideChannel]:
    return [
        GuideChannel(
            f"{index}.hostile.exstreamtv",
            str(index),
            name,
            name,
            f"http://tv.test/logo/{index}.png",
            f"http://tv.test/{index}.ts",
        )
        for index, name in enumerate(HOSTILE_NAMES, start=1)
    ]


def xmltv_ids(channels: list[GuideChannel]) -> list[str]:
    document = b"".join(render_xmltv(channels, []))
    root = etree.fromstring(
        document, parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    return [str(element.get("id")) for element in root.iter("channel")]


def test_playlist_output_matches_the_golden_file() -> None:
    golden = GOLDEN / "lineup.m3u"
    text = render_m3u(CHANNELS, guide_url=GUIDE_URL)
    if os.environ.get("EXSTREAMTV_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8", newline="\n")

    assert text == golden.read_text(encoding="utf-8")


def test_parsed_playlist_has_every_channel_with_its_attributes_and_url() -> None:
    parsed = playlist.loads(render_m3u(CHANNELS, guide_url=GUIDE_URL))

    assert parsed.get_attribute("url-tvg") == GUIDE_URL
    assert parsed.get_attribute("x-tvg-url") == GUIDE_URL
    first, second = parsed.get_channels()
    assert first.attributes == {
        "tvg-id": "1.exstreamtv",
        "tvg-chno": "1",
        "tvg-name": "Classic TV",
        "tvg-logo": "http://tv.test:8411/iptv/logos/1.png",
        "group-title": "Classics",
    }
    assert (first.name, first.url) == ("Classic TV", "http://tv.test:8411/iptv/channel/1.ts")
    assert second.name == "Movies, Mostly & More"


def test_playlist_tvg_ids_equal_the_xmltv_channel_ids() -> None:
    for channels in (CHANNELS, hostile_channels()):
        parsed = playlist.loads(render_m3u(channels, guide_url=GUIDE_URL))

        tvg_ids = [channel.attributes["tvg-id"] for channel in parsed.get_channels()]
        assert tvg_ids == xmltv_ids(channels)


def test_hostile_names_stay_on_one_line_inside_their_quotes() -> None:
    text = render_m3u(hostile_channels(), guide_url=GUIDE_URL)
    parsed = playlist.loads(text)

    channels = parsed.get_channels()
    assert len(text.split("\n")) == 2 + 2 * len(HOSTILE_NAMES)
    assert [channel.url for channel in channels] == [
        f"http://tv.test/{index}.ts" for index in range(1, len(HOSTILE_NAMES) + 1)
    ]
    names = [channel.name for channel in channels]
    assert names[:5] == [
        "The 'Best' Channel",
        "Two Lines and a tab",
        "Injected #EXTINF:-1,Evil http://evil.test/",
        "x' tvg-id='evil",
        "Comma, separated, name",
    ]
    assert names[5] == "Emoji 📺 أخبار חדשות Café"
    assert names[6:] == ["Controls end", "Separators and end", "lone surrogate"]
    assert all(channel.attributes["tvg-name"] == channel.name for channel in channels)
    assert all(channel.attributes["group-title"] == channel.name for channel in channels)


def test_channel_without_group_or_logo_omits_those_attributes() -> None:
    parsed = playlist.loads(render_m3u(CHANNELS[1:], guide_url=GUIDE_URL))

    assert set(parsed.get_channels()[0].attributes) == {"tvg-id", "tvg-chno", "tvg-name"}


@settings(max_examples=200)
@given(st.text(st.characters(exclude_categories=()), max_size=40))
def test_any_channel_name_parses_as_exactly_one_channel(name: str) -> None:
    channel = GuideChannel("7.exstreamtv", "7", name, name, "", "http://tv.test/7.ts")

    [parsed] = playlist.loads(render_m3u([channel], guide_url=GUIDE_URL)).get_channels()

    assert parsed.attributes["tvg-id"] == "7.exstreamtv"
    assert parsed.url == "http://tv.test/7.ts"
    assert parsed.attributes["tvg-name"] == parsed.name
