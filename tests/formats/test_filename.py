"""Behaviour of reading descriptive metadata from a media file's library-relative path."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exstreamtv.domain.media import MediaKind, MediaMetadata, MetadataSource, MetadataStatus
from exstreamtv.formats.filename import parse_media_path

OK = MetadataStatus.OK
PLACEHOLDER = MetadataStatus.PLACEHOLDER
FOLDER = MetadataSource.FOLDER
FILENAME = MetadataSource.FILENAME


def _parse(path: str, kind_hint: MediaKind | None = None) -> MediaMetadata:
    return parse_media_path(PurePosixPath(path), kind_hint)


def _episode(meta: MediaMetadata) -> tuple[object, ...]:
    return (meta.show, meta.season, meta.episode, meta.title, meta.status, meta.source)


# --- folder layout ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "Show Name/Season 01/Show Name - S01E02 - The Title.mkv",
            ("Show Name", 1, 2, "The Title", OK, FOLDER),
        ),
        ("Show Name/Season 2/2x05 Pilot.avi", ("Show Name", 2, 5, "Pilot", OK, FOLDER)),
        ("Show Name/Season 2/E05 - Ozymandias.mkv", ("Show Name", 2, 5, "Ozymandias", OK, FOLDER)),
        ("Show Name/Season 2/05 - Ozymandias.mkv", ("Show Name", 2, 5, "Ozymandias", OK, FOLDER)),
        ("Show Name/Series 3/anything S03E04.mkv", ("Show Name", 3, 4, "Show Name", OK, FOLDER)),
        (
            "Show Name/Specials/Show Name - S00E01 - Making Of.mkv",
            ("Show Name", 0, 1, "Making Of", OK, FOLDER),
        ),
        ("Show Name/Specials/E03.mkv", ("Show Name", 0, 3, "Show Name", OK, FOLDER)),
        (
            "Show Name/S01/Show.Name.S01E07.720p.HDTV.x264-GRP.mkv",
            ("Show Name", 1, 7, "Show Name", OK, FOLDER),
        ),
    ],
)
def test_show_and_season_folders_name_the_show_and_season(
    path: str, expected: tuple[object, ...]
) -> None:
    meta = _parse(path)

    assert meta.kind is MediaKind.EPISODE
    assert _episode(meta) == expected


def test_year_in_show_folder_becomes_the_year() -> None:
    meta = _parse("Doctor Who (2005)/Season 1/Doctor Who (2005) - S01E01 - Rose.mkv")

    assert _episode(meta) == ("Doctor Who", 1, 1, "Rose", OK, FOLDER)
    assert meta.year == 2005


def test_episode_directly_in_the_show_folder_takes_the_show_from_the_folder() -> None:
    meta = _parse("The Wire/The Wire - S01E02 - The Detail.mkv")

    assert _episode(meta) == ("The Wire", 1, 2, "The Detail", OK, FOLDER)


def test_bare_episode_marker_in_show_folder_is_named_after_the_show() -> None:
    meta = _parse("The Wire/S01E02.mkv")

    assert _episode(meta) == ("The Wire", 1, 2, "The Wire", OK, FOLDER)


def test_generic_parent_folder_does_not_override_the_show_in_the_file_name() -> None:
    meta = _parse("Downloads/Other.Show.S01E02.Title.720p.mkv")

    assert _episode(meta) == ("Other Show", 1, 2, "Title", OK, FILENAME)


def test_season_folder_without_episode_number_is_a_placeholder_episode() -> None:
    meta = _parse("Show Name/Season 2/Behind the scenes.mkv")

    assert meta.kind is MediaKind.EPISODE
    assert _episode(meta) == ("Show Name", 2, None, "Behind the scenes", PLACEHOLDER, FOLDER)


def test_season_in_the_file_name_wins_over_the_season_folder() -> None:
    meta = _parse("Show Name/Season 2/Show Name - S01E05.mkv")

    assert (meta.season, meta.episode) == (1, 5)


def test_season_folder_at_library_root_takes_the_show_from_the_file_name() -> None:
    meta = _parse("Season 1/Firefly - S01E01 - Serenity.mkv")

    assert _episode(meta) == ("Firefly", 1, 1, "Serenity", OK, FOLDER)


# --- file name alone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Show.Name.S01E02.Title.720p.mkv", ("Show Name", 1, 2, "Title", OK, FILENAME)),
        ("Show Name - 1x02 - Title.avi", ("Show Name", 1, 2, "Title", OK, FILENAME)),
        ("show_name_s01e02_the_title.mkv", ("show name", 1, 2, "the title", OK, FILENAME)),
        ("Show.Name.S01E02E03.Title.mkv", ("Show Name", 1, 2, "Title", OK, FILENAME)),
        ("Show.Name.S01E02-E03.Title.mkv", ("Show Name", 1, 2, "Title", OK, FILENAME)),
        ("Show Name S01 E02.mkv", ("Show Name", 1, 2, "Show Name", OK, FILENAME)),
        ("Show.Name.S01E02.720p.HDTV.x264-GRP.mkv", ("Show Name", 1, 2, "Show Name", OK, FILENAME)),
        (
            "Show.Name.S01E02.Title.PROPER.WEB.h264-GRP.mkv",
            ("Show Name", 1, 2, "Title", OK, FILENAME),
        ),
        ("Show.Name.S01E02.The.Web.1080p.mkv", ("Show Name", 1, 2, "The Web", OK, FILENAME)),
        (
            "[SubGroup] Show Name - S01E02 [ABCD1234].mkv",
            ("Show Name", 1, 2, "Show Name", OK, FILENAME),
        ),
    ],
)
def test_episode_file_names_give_show_numbers_and_title(
    name: str, expected: tuple[object, ...]
) -> None:
    meta = _parse(name)

    assert meta.kind is MediaKind.EPISODE
    assert _episode(meta) == expected


def test_star_trek_dash_subtitle_stays_part_of_the_show_name() -> None:
    meta = _parse("Star Trek - The Next Generation - S02E05.mkv")

    assert (meta.show, meta.season, meta.episode) == ("Star Trek - The Next Generation", 2, 5)


def test_acronym_dots_survive_while_word_dots_become_spaces() -> None:
    meta = _parse("Agents.of.S.H.I.E.L.D.S01E01.Pilot.mkv")

    assert meta.show == "Agents of S.H.I.E.L.D"
    assert meta.title == "Pilot"


def test_date_based_episode_has_no_numbers_and_is_titled_with_show_and_date() -> None:
    meta = _parse("The Daily Show 2021-03-04.mkv")

    assert meta.kind is MediaKind.EPISODE
    assert _episode(meta) == (
        "The Daily Show",
        None,
        None,
        "The Daily Show 2021-03-04",
        OK,
        FILENAME,
    )
    assert meta.year == 2021


def test_date_based_episode_with_a_guest_is_titled_by_the_guest() -> None:
    meta = _parse("The.Daily.Show.2021.03.04.Guest.Name.720p.mkv")

    assert (meta.show, meta.title, meta.season) == ("The Daily Show", "Guest Name", None)


# --- movies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "year"),
    [
        ("Movie Title (1999).mkv", "Movie Title", 1999),
        ("Movie.Title.1999.1080p.BluRay.x264.mkv", "Movie Title", 1999),
        ("Movie Title [1999] [1080p].mp4", "Movie Title", 1999),
        ("Blade.Runner.2049.2017.2160p.UHD.mkv", "Blade Runner 2049", 2017),
        ("2001.A.Space.Odyssey.1968.mkv", "2001 A Space Odyssey", 1968),
        ("Heat (1995) (1080p BluRay x265 10bit).mkv", "Heat", 1995),
        ("(500) Days of Summer (2009).mkv", "(500) Days of Summer", 2009),
    ],
)
def test_movie_names_give_title_and_year(name: str, title: str, year: int) -> None:
    meta = _parse(name)

    assert (meta.kind, meta.title, meta.year) == (MediaKind.MOVIE, title, year)
    assert (meta.status, meta.source) == (OK, FILENAME)


def test_movie_hint_ignores_episode_markers() -> None:
    meta = _parse("Films/Movie S01E02 (2004).mkv", MediaKind.MOVIE)

    assert meta.kind is MediaKind.MOVIE
    assert meta.year == 2004


def test_episode_hint_does_not_read_a_year_as_a_movie() -> None:
    meta = _parse("Some Show 1999.mkv", MediaKind.EPISODE)

    assert meta.kind is MediaKind.EPISODE


# --- guessit fallback and placeholders -------------------------------------------------


def test_guessit_reads_three_digit_episode_numbers_the_regexes_skip() -> None:
    meta = _parse("Show.Name.102.The.Title.mkv", MediaKind.EPISODE)

    assert _episode(meta) == ("Show Name", 1, 2, "The Title", OK, FILENAME)


def test_guessit_anime_absolute_number_without_season_is_a_placeholder_title() -> None:
    meta = _parse("[SubGroup] Show - 07 [720p].mkv")

    assert meta.kind is MediaKind.EPISODE
    assert (meta.show, meta.season, meta.episode) == ("Show", None, 7)
    assert (meta.title, meta.status) == ("Show - 07", PLACEHOLDER)


def test_name_without_structure_is_a_placeholder_of_kind_other() -> None:
    meta = _parse("clips/My_Holiday_Clip.mp4")

    assert (meta.kind, meta.title, meta.status) == (MediaKind.OTHER, "My Holiday Clip", PLACEHOLDER)


def test_name_without_structure_takes_the_kind_hint() -> None:
    meta = _parse("Some Film.mkv", MediaKind.MOVIE)

    assert (meta.kind, meta.title, meta.status) == (MediaKind.MOVIE, "Some Film", PLACEHOLDER)


def test_name_that_is_only_release_junk_keeps_the_raw_stem() -> None:
    assert _parse("1080p.mkv").title == "1080p"


def test_overlong_name_skips_guessit_and_is_a_placeholder() -> None:
    # guessit takes seconds on long repetitive names; none this long exists on disk.
    meta = _parse("s01e" * 2500 + ".mkv")

    assert (meta.kind, meta.status) == (MediaKind.OTHER, PLACEHOLDER)


def test_empty_path_is_untitled() -> None:
    assert _parse("").title == "Untitled"


# --- music videos ----------------------------------------------------------------------


def test_music_video_is_titled_by_the_song() -> None:
    meta = _parse("Artist/Artist - Song (Official Music Video).mp4", MediaKind.MUSIC_VIDEO)

    assert (meta.kind, meta.title, meta.show, meta.status) == (
        MediaKind.MUSIC_VIDEO,
        "Song",
        None,
        OK,
    )


def test_music_video_without_artist_prefix_inside_artist_folder_is_titled() -> None:
    meta = _parse("Artist/Song.mp4", MediaKind.MUSIC_VIDEO)

    assert (meta.title, meta.status) == ("Song", OK)


def test_loose_music_video_without_artist_is_a_placeholder() -> None:
    meta = _parse("Song.mp4", MediaKind.MUSIC_VIDEO)

    assert (meta.title, meta.status) == ("Song", PLACEHOLDER)


# --- Unicode ---------------------------------------------------------------------------


def test_nfd_and_nfc_spellings_give_the_same_nfc_result() -> None:
    nfc = _parse(unicodedata.normalize("NFC", "Amélie (2001).mkv"))
    nfd = _parse(unicodedata.normalize("NFD", "Amélie (2001).mkv"))

    assert nfd == nfc
    assert nfc.title == "Amélie"


def test_emoji_and_right_to_left_text_survive() -> None:
    meta = _parse("😀 Show/Season 1/S01E01 - שלום עולם 👩‍👩‍👧.mkv")

    assert meta.show == "😀 Show"
    assert meta.title == "שלום עולם 👩‍👩‍👧"


def test_undecodable_file_name_bytes_become_replacement_characters() -> None:
    meta = _parse("Caf\udce9 (1999).mkv")  # os.fsdecode of Latin-1 bytes

    assert meta.title == "Caf\ufffd"


_SEGMENT = st.text(alphabet=st.characters(exclude_characters="/"), max_size=40)


@settings(database=None, deadline=None, max_examples=300)
@given(
    segments=st.lists(_SEGMENT, max_size=4),
    kind_hint=st.none() | st.sampled_from(MediaKind),
)
def test_any_text_path_gives_a_non_empty_nfc_title_without_raising(
    segments: list[str], kind_hint: MediaKind | None
) -> None:
    meta = parse_media_path(PurePosixPath("/".join(segments)), kind_hint)

    assert meta.title.strip()
    assert unicodedata.is_normalized("NFC", meta.title)
    assert "/" not in meta.title


@settings(database=None, deadline=None)
@given(
    show=st.text(alphabet=st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=20),
    season=st.integers(0, 99),
    episode=st.integers(1, 999),
)
def test_any_show_season_folder_layout_reads_back_its_numbers(
    show: str, season: int, episode: int
) -> None:
    meta = _parse(f"{show}/Season {season}/S{season:02d}E{episode:02d}.mkv")

    assert (meta.season, meta.episode, meta.kind) == (season, episode, MediaKind.EPISODE)
