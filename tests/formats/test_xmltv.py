"""Behaviour of the XMLTV guide: validation, rendering, golden output and real validators.

Golden files change only deliberately: run with ``EXSTREAMTV_UPDATE_GOLDEN=1`` to rewrite
them, then review the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from exstreamtv.domain.guide import GuideChannel, GuidePolicy, Programme, ProgrammeKind
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.guide_folding import Span, describe
from exstreamtv.formats.xmltv import XmltvWriter, render_xmltv, validate_guide

DTD_PATH = Path("/usr/share/xmltv/xmltv.dtd")
GOLDEN = Path(__file__).parent / "golden"
MIN = 60_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z

CHANNELS = [
    GuideChannel("1.exstreamtv", "1", "Classic TV", "Classics", "http://tv.test/logos/1.png", ""),
    GuideChannel("2-1.exstreamtv", "2.1", "Movies & More", None, "", ""),
]
PROGRAMMES = [
    Programme(
        "1.exstreamtv",
        T0,
        T0 + 46 * MIN,
        "Star Trek: The Next Generation",
        sub_title="Elementary, Dear Data",
        description="Geordi and Data play Holmes & Watson <on the holodeck>.",
        categories=("Science Fiction", "Series"),
        year=1988,
        season=2,
        episode=5,
        episodic=True,
        icon_url="http://img.test/tng.jpg?w=300&h=450",
        previously_shown=True,
        rating="TV-PG",
    ),
    Programme("1.exstreamtv", T0 + 46 * MIN, T0 + 120 * MIN, "Offline", ProgrammeKind.OFFLINE),
    Programme(
        "2-1.exstreamtv",
        T0,
        T0 + 170 * MIN,
        "Heat",
        categories=("Crime", "Movie"),
        year=1995,
        previously_shown=True,
        rating="R",
    ),
    Programme("2-1.exstreamtv", T0 + 170 * MIN, T0 + 240 * MIN, "Filler", ProgrammeKind.FILLER),
]

HOSTILE = [
    "Tom & Jerry &amp; &#38; &bogus;",
    "<script>alert(1)</script><!-- -->",
    "]]> ends CDATA ]]]]><![CDATA[>",
    "\"double\" and 'single' quotes",
    "Emoji 📺🎬 👩‍👩‍👧 🏳️‍🌈",
    "أخبار المساء",
    "חדשות הערב",
    "Cafe\u0301 and Z\u0337\u0322a\u0334l\u0336g\u0337o",
    "controls " + "".join(chr(code) for code in range(0x20)) + " end",
    "non\ufffecharacters\uffff here",
    "lone \ud800 and \udfff surrogates",
    "C1 \x85 and \x9f and DEL \x7f",
    "replacement \ufffd] and mojibake \u00ef\u00bf\u00bd",
    "tabs\tnew\nlines\r\ncarriage\rreturns",
]


def hostile_lineup() -> tuple[list[GuideChannel], list[Programme]]:
    channels, programmes = [], []
    for index, text in enumerate(HOSTILE, start=1):
        channel_id = f"{index}.hostile.exstreamtv"
        url = f"http://tv.test/{text}?a=1&b=2"
        channels.append(GuideChannel(channel_id, str(index), f"Ch {text}", text, url, url))
        programmes.append(
            Programme(
                channel_id,
                T0,
                T0 + 30 * MIN,
                f"Title {text}",
                sub_title=text,
                description=text,
                categories=(text, "Series"),
                season=1,
                episode=index,
                episodic=True,
                icon_url=url,
                previously_shown=True,
                rating=text,
            )
        )
    return channels, programmes


def render(channels: list[GuideChannel], programmes: list[Programme]) -> bytes:
    return b"".join(render_xmltv(channels, programmes))


def parse(document: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(document, parser=parser)


def tv_validate_file(path: Path) -> str:
    executable = shutil.which("tv_validate_file")
    if executable is None:
        pytest.fail("tv_validate_file is missing: apt-get install xmltv-util")
    result = subprocess.run(
        [executable, "--dtd-file", str(DTD_PATH), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


def test_guide_output_matches_the_golden_file() -> None:
    golden = GOLDEN / "guide.xml"
    document = render(CHANNELS, PROGRAMMES)
    if os.environ.get("EXSTREAMTV_UPDATE_GOLDEN") == "1":
        golden.write_bytes(document)

    assert document == golden.read_bytes()


def test_golden_guide_passes_tv_validate_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.xml"
    path.write_bytes(render(CHANNELS, PROGRAMMES))

    assert "Validated ok." in tv_validate_file(path)


def test_guide_full_of_hostile_text_is_valid_and_passes_tv_validate_file(tmp_path: Path) -> None:
    channels, programmes = hostile_lineup()
    validate_guide(channels, programmes, episode_num_required=True)
    path = tmp_path / "hostile.xml"
    path.write_bytes(render(channels, programmes))

    assert "Validated ok." in tv_validate_file(path)


@pytest.mark.parametrize("lineup", ["golden", "hostile"])
def test_guide_follows_the_xmltv_dtd(lineup: str) -> None:
    channels, programmes = (CHANNELS, PROGRAMMES) if lineup == "golden" else hostile_lineup()
    dtd = etree.DTD(str(DTD_PATH))

    assert dtd.validate(parse(render(channels, programmes))), dtd.error_log


def test_hostile_text_keeps_emoji_rtl_and_combining_marks_and_loses_forbidden_chars() -> None:
    channels, programmes = hostile_lineup()
    titles = [el.text for el in parse(render(channels, programmes)).iter("title")]

    assert "Title Emoji 📺🎬 👩‍👩‍👧 🏳️‍🌈" in titles
    assert "Title أخبار المساء" in titles
    assert "Title Café and Z\u0337\u0322a\u0334l\u0336g\u0337o" in titles  # NFC: é composed
    assert "Title controls \t\n\r end" in titles
    assert "Title lone  and  surrogates" in titles
    assert "Title ]]> ends CDATA ]]]]><![CDATA[>" in titles


def xml_char(char: str) -> bool:
    """XML 1.0's Char production, without DEL and the C1 controls."""
    code = ord(char)
    return (
        char in "\t\n\r"
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    )


def shown(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(char for char in text if xml_char(char)))


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)


@settings(max_examples=300)
@given(title=ANY_TEXT, desc=ANY_TEXT, category=ANY_TEXT, name=ANY_TEXT, icon=ANY_TEXT)
def test_any_text_renders_well_formed_xml_that_round_trips_minus_forbidden_chars(
    title: str, desc: str, category: str, name: str, icon: str
) -> None:
    channel = GuideChannel("1.exstreamtv", "1", name, None, icon, "")
    programme = Programme(
        "1.exstreamtv", T0, T0 + MIN, title, description=desc, categories=(category,)
    )

    root = parse(render([channel], [programme]))

    assert (root.findtext("programme/title") or "") == shown(title)
    assert root.findtext("programme/desc") == (shown(desc) if shown(desc).strip() else None)
    assert root.findtext("programme/category") == (
        shown(category) if shown(category).strip() else None
    )
    assert root.findtext("channel/display-name") == (shown(name) if shown(name).strip() else "1")
    icons = [el.get("src") for el in root.iter("icon")]
    assert icons == ([shown(icon)] if shown(icon).strip() else [])


@pytest.mark.parametrize(
    ("season", "episode", "expected"),
    [
        (2, 5, {"xmltv_ns": "1.4.", "onscreen": "S02E05"}),
        (None, 5, {"xmltv_ns": ".4.", "onscreen": "E05"}),
        (0, 3, {"xmltv_ns": ".2.", "onscreen": "S00E03"}),
        (None, None, {}),
    ],
)
def test_episode_numbers_are_written_in_xmltv_ns_and_onscreen_forms(
    season: int | None, episode: int | None, expected: dict[str, str]
) -> None:
    programme = Programme("1.exstreamtv", T0, T0 + MIN, "Show", season=season, episode=episode)

    root = parse(render(CHANNELS[:1], [programme]))

    assert {el.get("system"): el.text for el in root.iter("episode-num")} == expected


def test_times_are_utc_stamps_floored_to_the_second() -> None:
    programme = Programme("1.exstreamtv", T0 + 999, T0 + 90_500, "Show")

    element = parse(render(CHANNELS[:1], [programme])).find("programme")

    assert element is not None
    assert (element.get("start"), element.get("stop")) == (
        "20240101000000 +0000",
        "20240101000130 +0000",
    )


def test_render_streams_the_header_and_channels_before_reading_programmes() -> None:
    consumed: list[Programme] = []

    def programmes() -> Iterator[Programme]:
        for programme in PROGRAMMES:
            consumed.append(programme)
            yield programme

    chunks = render_xmltv(CHANNELS, programmes())
    head = [next(chunks) for _ in range(1 + len(CHANNELS))]

    assert head[0].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert consumed == []
    assert len(list(chunks)) == len(PROGRAMMES) + 1  # one per programme, then the footer


def invalid(reason: str) -> tuple[list[GuideChannel], list[Programme]]:
    """A lineup on channel 5 "News" broken in the way ``reason`` names."""
    news = GuideChannel("5.exstreamtv", "5", "News", None, "", "")
    other = GuideChannel("6.exstreamtv", "6", "Sport", None, "", "")
    ok = Programme(news.id, T0, T0 + 30 * MIN, "Evening News")
    broken = {
        "empty_channel_name": ([replace(other, name=" \x00 ")], []),
        "invalid_channel_id": ([replace(other, id="six")], []),
        "duplicate_channel_id": ([replace(other, id=news.id)], []),
        "duplicate_channel_number": ([replace(other, number="5")], []),
        "start_not_before_stop": ([], [replace(ok, start_ms=ok.stop_ms)]),
        "time_out_of_range": ([], [replace(ok, stop_ms=4_102_444_800_001)]),
        "overlap": ([], [replace(ok, start_ms=T0 + 20 * MIN, stop_ms=T0 + 40 * MIN), ok]),
        "empty_title": ([], [replace(ok, title="  ")]),
        "placeholder_title": ([], [replace(ok, title="Item 123")]),
        "missing_episode_num": ([], [replace(ok, episodic=True, season=1)]),
        "unknown_channel": ([], [replace(ok, channel_id="9.exstreamtv")]),
    }
    extra_channels, programmes = broken[reason]
    return [news, *extra_channels], programmes or [ok]


@pytest.mark.parametrize(
    "reason",
    [
        "empty_channel_name",
        "invalid_channel_id",
        "duplicate_channel_id",
        "duplicate_channel_number",
        "start_not_before_stop",
        "time_out_of_range",
        "overlap",
        "empty_title",
        "placeholder_title",
        "missing_episode_num",
    ],
)
def test_invalid_guide_is_rejected_with_its_reason_and_the_channel_named(reason: str) -> None:
    channels, programmes = invalid(reason)

    with pytest.raises(XMLTVValidationError) as caught:
        validate_guide(channels, programmes, episode_num_required=True)

    assert caught.value.reason == reason
    assert caught.value.channel in {"5", "6"}
    assert f"channel {caught.value.channel} (" in caught.value.message


def test_programme_for_a_channel_not_in_the_lineup_is_rejected_naming_the_channel_id() -> None:
    channels, programmes = invalid("unknown_channel")

    with pytest.raises(XMLTVValidationError, match=r"9\.exstreamtv") as caught:
        validate_guide(channels, programmes, episode_num_required=False)

    assert (caught.value.reason, caught.value.channel) == ("unknown_channel", "9.exstreamtv")


def test_empty_lineup_is_rejected() -> None:
    with pytest.raises(XMLTVValidationError) as caught:
        validate_guide([], [], episode_num_required=False)

    assert caught.value.reason == "no_channels"


@pytest.mark.parametrize("title", ["Item 7", " Item 123 ", "\x00\x01\ufffe", "Item\x00 42"])
def test_placeholder_titles_are_rejected(title: str) -> None:
    programme = Programme("1.exstreamtv", T0, T0 + MIN, title)

    with pytest.raises(XMLTVValidationError, match="placeholder") as caught:
        validate_guide(CHANNELS, [programme], episode_num_required=False)

    assert caught.value.reason == "placeholder_title"


def test_missing_episode_numbers_are_counted_not_rejected_when_not_required() -> None:
    later = T0 + 240 * MIN
    episodic = Programme("1.exstreamtv", later, later + MIN, "Show", episodic=True, season=1)

    stats = validate_guide(CHANNELS, [*PROGRAMMES, episodic], episode_num_required=False)

    assert stats.missing_episode_num == 1


def test_stats_count_programmes_by_kind_and_what_is_missing() -> None:
    stats = validate_guide(CHANNELS, PROGRAMMES, episode_num_required=True)

    assert (stats.channels, stats.programmes) == (2, 4)
    assert (stats.filler_programmes, stats.offline_programmes) == (1, 1)
    assert (stats.missing_episode_num, stats.missing_year, stats.unknown_titles) == (0, 0, 0)
    assert stats.channels_without_programmes == 0


def test_stats_count_channels_without_programmes() -> None:
    stats = validate_guide(CHANNELS, PROGRAMMES[:2], episode_num_required=True)

    assert stats.channels_without_programmes == 1


def test_a_writer_kept_for_many_guides_stays_within_its_memo_limit() -> None:
    """The guide keeps one writer per change epoch (hours, days): its memos of lines,
    stamps and bodies never grow past the limit, and what it writes is what a fresh
    writer writes."""
    channel = GuideChannel("ch1.exstreamtv", "1", "One", None, "", "http://tv.test/1.ts")
    spans: list[Span] = [
        (n * 60_000, (n + 1) * 60_000, (ProgrammeKind.CONTENT, None, f"Programme {n}"))
        for n in range(500)
    ]

    def described(span: Span) -> Programme:
        return describe(channel.id, span, {}, GuidePolicy())

    kept = XmltvWriter(memo_limit=40)
    for _ in range(3):
        text, stats = kept.listing(channel, spans, described, episode_num_required=False)
        assert kept.memoised <= 40
    fresh, _ = XmltvWriter().listing(channel, spans, described, episode_num_required=False)
    assert text == fresh and stats.programmes == 500
