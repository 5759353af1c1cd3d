"""The pure readers of online sources: an IPTV playlist with hostile entries refused line by
line, yt-dlp's info dictionaries (recorded shapes), an Internet Archive item's files, and
which URLs are accepted and how they are shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.locations import check_online_url, shown_url
from exstreamtv.domain.media import MediaKind, MetadataStatus
from exstreamtv.errors import InvalidInput
from exstreamtv.formats.iptv_playlist import MAX_NAME_CHARS, parse_playlist
from exstreamtv.formats.ytdlp_info import codec_name, describe_video, unplayable_reason
from exstreamtv.sources.archive_org import best_file, search_query
from exstreamtv.sources.ytdlp import listed_entries
from tests.online.fake_archive import video_files

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ytdlp"
GOOD = "http://tv.example:8080/live/user/pass/1.ts"


def _recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


def test_an_iptv_playlist_keeps_good_channels_and_refuses_hostile_lines_with_reasons() -> None:
    huge = "N" * (MAX_NAME_CHARS + 1)
    text = "\ufeff" + "\r\n".join(
        [
            '#EXTM3U url-tvg="http://tv.example/guide.xml,file:///etc/passwd" x-tvg-url="bad"',
            '#EXTINF:-1 tvg-id="one.uk" tvg-chno="101" tvg-logo="http://tv.example/1.png"'
            ' group-title="News, and more",One, with a comma',  # line 2
            GOOD,
            '#EXTINF:-1 tvg-id="two",Two\u202eowt',  # 4: a direction override in the name
            "http://tv.example/2.ts",
            f"#EXTINF:-1,{huge}",  # 6
            "http://tv.example/3.ts",
            "#EXTINF:-1,Local file",  # 8
            "file:///etc/passwd",
            "#EXTINF:-1,Concat",  # 10
            "concat:http://a|http://b",
            "#EXTINF:-1,Spaces",  # 12
            "http://tv.example/a b.ts",
            "#EXTINF:-1,Again",  # 14
            GOOD,
            "#EXTINF:-1,Orphan",  # 16: no URL follows
            '#EXTINF:-1 tvg-logo="javascript:alert(1)",Bare logo',  # 17
            "#EXTVLCOPT:http-referrer=http://tv.example",
            "https://tv.example/4.m3u8",
            "rtmp://tv.example/live",  # 20: a bare URL of another protocol
            "https://tv.example/five.ts",  # 21: a bare URL
        ]
    )
    playlist = parse_playlist(text)

    assert [(c.line, c.name, c.url) for c in playlist.channels] == [
        (2, "One, with a comma", GOOD),
        (17, "Bare logo", "https://tv.example/4.m3u8"),
        (21, "five.ts", "https://tv.example/five.ts"),
    ]
    one = playlist.channels[0]
    assert (one.channel_id, one.number, one.group, one.logo) == (
        "tvg:one.uk", "101", "News, and more", "http://tv.example/1.png",
    )  # fmt: skip
    assert playlist.channels[1].logo is None  # a javascript: logo is dropped
    assert [(r.line, r.reason) for r in playlist.refusals] == [
        (4, "the name holds control or direction-override characters"),
        (6, f"the name is longer than {MAX_NAME_CHARS} characters"),
        (8, "only http(s) URLs are read, not 'file'"),
        (10, "only http(s) URLs are read, not 'concat'"),
        (12, "a URL must not contain spaces or control characters"),
        (14, "the same stream as line 2"),
        (16, "no stream URL follows this entry"),
        (20, "only http(s) URLs are read, not 'rtmp'"),
    ]
    assert playlist.guide_urls == ("http://tv.example/guide.xml",)


def test_channel_ids_are_stable_and_fall_back_to_the_url_when_tvg_ids_repeat() -> None:
    text = '#EXTM3U\n#EXTINF:-1 tvg-id="x",A\nhttp://h/a\n#EXTINF:-1 tvg-id="x",B\nhttp://h/b\n'
    first, second = parse_playlist(text).channels
    assert first.channel_id != second.channel_id
    assert not first.channel_id.startswith("tvg:")
    assert parse_playlist(text).channels == (first, second)  # the same ids on every read


def test_a_playlist_cap_refuses_the_rest() -> None:
    lines = ["#EXTM3U"] + [f"http://h/{n}.ts" for n in range(5)]
    playlist = parse_playlist("\n".join(lines), max_channels=3)
    assert len(playlist.channels) == 3
    assert [r.line for r in playlist.refusals] == [5, 6]


@pytest.mark.parametrize("text", ["", "<html>login</html>", "http://h/a.ts\n#EXTM3U"])
def test_a_document_that_is_not_a_playlist_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not an M3U playlist"):
        parse_playlist(text)


def test_a_recorded_youtube_video_maps_to_our_metadata() -> None:
    video = describe_video(_recorded("youtube_video.json"), LibraryKind.SHOWS)
    meta, tech = video.metadata, video.technical
    assert tech is not None
    assert (meta.kind, meta.title, meta.show, meta.season, meta.year) == (
        MediaKind.EPISODE, "Big Buck Bunny", "Blender", 2008, 2008,
    )  # fmt: skip
    assert meta.plot is not None and meta.plot.startswith("Big Buck Bunny tells")
    assert meta.genres == ("Film & Animation",)
    assert meta.artwork.poster == "https://i.ytimg.com/vi/YE7VzlLtp-4/maxresdefault.jpg"
    assert meta.external_ids == (("youtube", "YE7VzlLtp-4"),)
    assert (tech.duration_ms, tech.width, tech.height, tech.fps) == (597_000, 640, 360, 25)
    assert (tech.video_codec, tech.audio_codec, tech.container) == ("h264", "aac", "mp4")
    assert [(c.start_ms, c.end_ms, c.title) for c in tech.chapters] == [
        (0, 62_500, "Opening"), (62_500, 420_000, "The forest"), (420_000, 597_000, "Revenge"),
    ]  # fmt: skip
    assert video.page_url == "https://www.youtube.com/watch?v=YE7VzlLtp-4"
    movie = describe_video(_recorded("youtube_video.json"), LibraryKind.MOVIES).metadata
    assert (movie.kind, movie.show, movie.season) == (MediaKind.MOVIE, None, None)


def test_a_live_stream_is_not_a_video_and_says_so() -> None:
    video = describe_video(_recorded("youtube_live.json"), LibraryKind.OTHER)
    assert video.technical is None
    assert video.metadata.status is MetadataStatus.FAILED
    assert video.metadata.reason is not None and "live stream" in video.metadata.reason
    assert video.metadata.title.startswith("lofi hip hop radio")


def test_hostile_values_in_an_info_dictionary_are_ignored() -> None:
    info = {
        "id": "x", "title": ["not", "text"], "duration": float("nan"), "chapters": "many",
        "upload_date": "2024-13", "categories": [1, None, "Music"], "width": True,
    }  # fmt: skip
    video = describe_video(info, LibraryKind.OTHER)
    assert (video.metadata.title, video.metadata.year, video.metadata.genres) == (
        "x", None, ("Music",),
    )  # fmt: skip
    assert video.technical is None  # no usable duration


def test_a_flat_playlist_lists_its_videos_and_skips_entries_that_are_not_http() -> None:
    entries = listed_entries(_recorded("youtube_playlist_flat.json"), "https://example/list")
    assert [(i, u, f.get("title")) for i, u, f in entries] == [
        ("YE7VzlLtp-4", "https://www.youtube.com/watch?v=YE7VzlLtp-4", "Big Buck Bunny"),
        ("eRsGyueVLvQ", "https://www.youtube.com/watch?v=eRsGyueVLvQ", "Sintel"),
    ]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("[youtube] abc: Private video. Sign in if you've been granted access", "private"),
        (
            "[youtube] abc: Video unavailable. This video has been removed by the uploader",
            "removed",
        ),
        ("[youtube] abc: Sign in to confirm your age", "age-restricted"),
        (
            "[youtube] abc: The uploader has not made this video available in your country",
            "region-restricted",
        ),
        ("[generic] clip: Unable to download webpage: HTTP Error 404: Not Found", "gone"),
        ("[youtube] abc: Unable to download API page: HTTP Error 429", None),
        ("[generic] Unable to download webpage: <urlopen error [Errno 111]>", None),
    ],
)
def test_yt_dlp_errors_tell_gone_and_restricted_videos_from_passing_failures(
    message: str, reason: str | None
) -> None:
    found = unplayable_reason(message)
    assert (found is None) == (reason is None)
    assert reason is None or (found is not None and reason in found)


def test_codec_names_are_ffmpegs() -> None:
    assert [codec_name(c) for c in ("avc1.64001F", "mp4a.40.2", "vp09.00.40.08", "none", None)] == [
        "h264", "aac", "vp9", None, None,
    ]  # fmt: skip


def test_the_best_archive_file_is_the_h264_derivative_never_a_private_one() -> None:
    files = video_files("reel", 12.5)
    chosen = best_file(files)
    assert chosen is not None
    assert (chosen.name, chosen.seconds, chosen.height) == ("reel.mp4", 12.5, 480)
    private = [{**f, "private": "true"} if f["name"] == "reel.mp4" else f for f in files]
    assert best_file(private) is not None and best_file(private).name == "reel_512kb.mp4"  # type: ignore[union-attr]
    assert best_file([f for f in files if "video" not in str(f.get("format", "")).lower()
                      and f["format"] in ("Item Tile", "Metadata")]) is None  # fmt: skip
    assert best_file([{**files[0], "length": "1:02:03"}]).seconds == 3723  # type: ignore[union-attr]


def test_an_archive_query_names_a_collection_or_searches_and_keeps_to_videos() -> None:
    assert search_query("prelinger") == "(collection:prelinger) AND mediatype:(movies)"
    assert search_query("subject:trains AND year:1950") == (
        "(subject:trains AND year:1950) AND mediatype:(movies)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "concat:http://a|http://b",
        "ftp://h/x",
        "http://",
        "http://h/a b",
        "http://h/\x00",
        "h" * 3000,
        "http://h:99999/",
    ],
)
def test_only_plain_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_online_url(url)


def test_a_url_is_shown_without_credentials_or_query() -> None:
    assert shown_url("http://me:pw@tv.example:8080/get.php?username=me&password=pw#x") == (
        "http://tv.example:8080/get.php"
    )
    assert shown_url("https://[::1]/a.m3u8?token=t") == "https://[::1]/a.m3u8"
