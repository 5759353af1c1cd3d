"""Descriptive metadata from where a media file sits and what it is called.

Pure: takes a path relative to the library root as a value and never touches the disk.
Strategies run best first: the folder layout (``Show/Season 01/...``), then the file name
alone (``Show.S01E02.Title``, ``Movie (1999)``), then guessit, then the cleaned file name as
a placeholder title. Every text result is NFC-normalised.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from pathlib import PurePosixPath
from typing import NamedTuple

from exstreamtv.domain.media import MediaKind, MediaMetadata, MetadataSource, MetadataStatus

_FLAGS = re.ASCII | re.IGNORECASE  # ASCII: no long-s matching "s", no Arabic-Indic digits
_EDGE = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"

_EXTENSION = re.compile(r"\.(?=[A-Za-z0-9]{1,5}$)[0-9]*[A-Za-z][A-Za-z0-9]*$", re.ASCII)
_SXXEYY = re.compile(
    _EDGE + r"s([0-9]{1,3})[ ._-]?e([0-9]{1,4})(?![0-9])"
    # Later episodes of a multi-episode file (E03, -E03, -03) are consumed, not kept.
    r"(?:[ ._-]?e[0-9]{1,4}(?![0-9])|-[0-9]{1,3}" + _END + r")*",
    _FLAGS,
)
_NXNN = re.compile(r"(?<![A-Za-z0-9.])([0-9]{1,2})x([0-9]{1,3})" + _END, _FLAGS)
_DATE = re.compile(
    r"(?<![0-9])((?:19|20)[0-9]{2})[-._ ](0[1-9]|1[0-2])[-._ ](0[1-9]|[12][0-9]|3[01])(?![0-9])",
    _FLAGS,
)
_EPISODE_ONLY = re.compile(_EDGE + r"(?:episode|ep|e)[ ._-]?([0-9]{1,4})(?![0-9])", _FLAGS)
_LEADING_NUMBER = re.compile(r"^([0-9]{1,3})(?=[ ._-]|$)", _FLAGS)
_SEASON_FOLDER = re.compile(
    r"^(?:(?:season|series|saison|staffel)[ ._-]*([0-9]{1,4})" + _END + r"|s([0-9]{1,2})$)",
    _FLAGS,
)
_SPECIALS_FOLDER = re.compile(r"^specials?$", _FLAGS)
_YEAR = re.compile(r"(?<![A-Za-z0-9])[(\[]?((?:18[89]|19[0-9]|20[0-9])[0-9])[)\]]?" + _END, _FLAGS)
_TRAILING_YEAR = re.compile(r"[(\[]((?:18[89]|19[0-9]|20[0-9])[0-9])[)\]]\s*$", _FLAGS)
# Bracketed group tags and hashes ([HorribleSubs], [ABCD1234], {tvdb-123}); a bracketed
# year stays because the movie parser reads it.
_BRACKETS = re.compile(r"\[(?!(?:18|19|20)[0-9]{2}\])[^\]]*\]|\{[^}]*\}")
# Release junk: everything from the first of these on is not part of a title.
_JUNK = re.compile(
    _EDGE + r"(?:(?:360|480|540|576|720|1080|1440|2160|4320)[pi]|4k|8k|uhd"
    r"|blu-?ray|bdrip|brrip|bdremux|remux|web-?dl|web-?rip|hdtv|pdtv|dvdrip|dvdscr|hdrip|hdcam"
    r"|[xh]\.?26[45]|hevc|avc|xvid|divx|av1|vp9|10-?bit|8-?bit|dolby[ ._-]?vision"
    r"|aac(?:[0-9]\.[0-9])?|e?ac-?3|ddp?[0-9]\.[0-9]|dts(?:-?hd)?(?:-?ma)?|truehd)" + _END,
    _FLAGS,
)
# Words that are junk only in scene capitals ("The Web" is a title, "WEB" a source).
_UPPER_JUNK = re.compile(
    _EDGE + r"(?:PROPER|REPACK|INTERNAL|LIMITED|EXTENDED|UNRATED|REMASTERED|IMAX|DUBBED"
    r"|SUBBED|MULTI|COMPLETE|UNCUT|WEB|DVD|AMZN|NF|DSNP|HMAX|ATVP|HULU|ATMOS|FLAC|OPUS|HDR|DV)"
    + _END,
    re.ASCII,
)
_OFFICIAL = re.compile(
    r"[(\[][^)\]]*\b(?:official|lyrics?|video|audio|visualizer)\b[^)\]]*[)\]]", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_LEAD_TRIM = " -\u2013\u2014_.,:;|~+)"
_TAIL_TRIM = " -\u2013\u2014_.,:;|~+("
_UNTITLED = "Untitled"
_NAME_MAX = 255  # longest file name on common file systems


class _Token(NamedTuple):
    """An episode marker found in a file name; ``start``/``end`` index into the stem."""

    season: int | None
    episode: int | None
    start: int
    end: int
    date: str | None = None


def parse_media_path(relative: PurePosixPath, kind_hint: MediaKind | None = None) -> MediaMetadata:
    """Describe the file at ``relative`` (relative to its library root) from its path alone.

    ``kind_hint`` is the library's declared kind: ``EPISODE`` and ``MOVIE`` restrict which
    readings are tried, ``MUSIC_VIDEO`` reads ``Artist - Song``; ``OTHER``/``None`` try all.
    Status is OK when a real title was found, or for an untitled episode whose show, season
    and episode are known (its title is then the show name); otherwise PLACEHOLDER with the
    cleaned file name as title. Never raises; the title is never empty.
    """
    # A leading "/" or "//" (POSIX keeps both as the root) is not a name.
    parts = [_sanitize(part) for part in relative.parts if part.strip("/")]
    if not parts:
        return _placeholder("", kind_hint)
    folders, stem = parts[:-1], _strip_extension(parts[-1])
    if kind_hint is MediaKind.MUSIC_VIDEO:
        return _music_video(folders, stem)
    if kind_hint is not MediaKind.MOVIE:
        found = _from_season_folder(folders, stem) or _episode_from_name(folders, stem)
        if found is not None:
            return found
    if kind_hint is not MediaKind.EPISODE:
        movie = _movie_from_name(stem)
        if movie is not None:
            return movie
    return _from_guessit(parts[-1], stem, kind_hint) or _placeholder(stem, kind_hint)


def _sanitize(text: str) -> str:
    """NFC text without control characters or lone surrogates (undecodable file names)."""
    text = _SURROGATE.sub("\ufffd", text)
    return unicodedata.normalize("NFC", _CONTROL.sub(" ", text))


def _strip_extension(name: str) -> str:
    stem = _EXTENSION.sub("", name)
    return stem or name


def _clean_title(text: str) -> str:
    """Turn a release-style fragment into a title; ``""`` when nothing title-like is left."""
    text = _BRACKETS.sub(" ", _sanitize(text)).replace("_", " ")
    for junk in (_JUNK, _UPPER_JUNK):
        found = junk.search(text)
        if found is not None:
            text = text[: found.start()]
    if " " not in text.strip():
        text = _undot(text)
    text = _SPACES.sub(" ", text).lstrip(_LEAD_TRIM).rstrip(_TAIL_TRIM)
    return text.strip()


def _undot(text: str) -> str:
    """Dots separate words in scene names, except inside acronyms such as S.H.I.E.L.D."""
    words = text.split(".")
    out = words[0]
    for before, word in itertools.pairwise(words):
        acronym = len(before) == 1 and len(word) == 1 and before.isalpha() and word.isalpha()
        out += ("." if acronym else " ") + word
    return out


def _fallback_title(stem: str) -> str:
    return _clean_title(stem) or _SPACES.sub(" ", _sanitize(stem)).strip() or _UNTITLED


def _placeholder(stem: str, kind_hint: MediaKind | None) -> MediaMetadata:
    return MediaMetadata(
        kind=kind_hint or MediaKind.OTHER,
        title=_fallback_title(stem),
        status=MetadataStatus.PLACEHOLDER,
        source=MetadataSource.FILENAME,
    )


def _show_name(text: str) -> tuple[str, int | None]:
    """A show name and the year in a trailing ``(2005)``, as in ``Doctor Who (2005)``."""
    text = _BRACKETS.sub(" ", _sanitize(text)).strip()
    year = _TRAILING_YEAR.search(text)
    if year is None:
        return _clean_title(text), None
    return _clean_title(text[: year.start()]), int(year.group(1))


def _fold(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _season_of_folder(folder: str) -> int | None:
    if _SPECIALS_FOLDER.match(folder.strip()):
        return 0
    found = _SEASON_FOLDER.match(folder.strip())
    if found is None:
        return None
    return int(found.group(1) or found.group(2))


def _find_token(stem: str, *, in_season_folder: bool) -> _Token | None:
    """The first episode marker: SxxEyy, then NxNN, then a date; inside a season folder also
    a bare ``E02`` or a leading ``02``."""
    for pattern in (_SXXEYY, _NXNN):
        found = pattern.search(stem)
        if found is not None:
            season, episode = int(found.group(1)), int(found.group(2))
            return _Token(season, episode, found.start(), found.end())
    date = _DATE.search(stem)
    if date is not None:
        iso = "-".join(date.groups())
        return _Token(None, None, date.start(), date.end(), iso)
    if in_season_folder:
        for pattern in (_EPISODE_ONLY, _LEADING_NUMBER):
            found = pattern.search(stem)
            if found is not None:
                return _Token(None, int(found.group(1)), found.start(), found.end())
    return None


def _from_season_folder(folders: list[str], stem: str) -> MediaMetadata | None:
    """``Show (2005)/Season 01/<file>``: the folders name the show and season."""
    season = _season_of_folder(folders[-1]) if folders else None
    if season is None:
        return None
    show, year = _show_name(folders[-2]) if len(folders) >= 2 else ("", None)
    token = _find_token(stem, in_season_folder=True)
    if token is None:
        return MediaMetadata(
            kind=MediaKind.EPISODE,
            title=_fallback_title(stem),
            status=MetadataStatus.PLACEHOLDER,
            source=MetadataSource.FOLDER,
            show=show or None,
            season=season,
            year=year,
        )
    if not show:
        show, year = _show_name(stem[: token.start])
    if token.season is not None:
        season = token.season  # the file name is more specific than the folder
    return _episode(
        stem,
        stem[token.end :],
        token,
        show=show,
        season=season,
        year=year,
        source=MetadataSource.FOLDER,
    )


def _episode_from_name(folders: list[str], stem: str) -> MediaMetadata | None:
    """``Show.S01E02.Title``, ``Show - 1x02 - Title`` or ``Show 2021-03-04``, optionally
    directly inside the show's folder (which then names the show)."""
    token = _find_token(stem, in_season_folder=False)
    if token is None:
        return None
    show, year = _show_name(stem[: token.start])
    source = MetadataSource.FILENAME
    if folders:
        folder_show, folder_year = _show_name(folders[-1])
        same = bool(show) and (
            _fold(show).startswith(_fold(folder_show)) or _fold(folder_show).startswith(_fold(show))
        )
        # A different name in the file means the folder is a generic one ("Downloads").
        if folder_show and _fold(folder_show) and (not show or same):
            show, year, source = folder_show, folder_year or year, MetadataSource.FOLDER
    return _episode(
        stem, stem[token.end :], token, show=show, season=token.season, year=year, source=source
    )


def _episode(
    stem: str,
    after: str,
    token: _Token,
    *,
    show: str,
    season: int | None,
    year: int | None,
    source: MetadataSource,
) -> MediaMetadata:
    """An episode titled by ``after`` (the text following its marker), else by its show."""
    title = _clean_title(after)
    if token.date is not None and year is None:
        year = int(token.date[:4])
    status = MetadataStatus.OK
    if not title and show and token.date is not None:
        title = f"{show} {token.date}"
    elif not title and show and season is not None and token.episode is not None:
        title = show
    elif not title:
        title, status = _fallback_title(stem), MetadataStatus.PLACEHOLDER
    return MediaMetadata(
        kind=MediaKind.EPISODE,
        title=title,
        status=status,
        source=source,
        show=show or None,
        season=season,
        episode=token.episode,
        year=year,
    )


def _movie_from_name(stem: str) -> MediaMetadata | None:
    """``Movie Title (1999)`` or ``Movie.Title.1999.1080p...``: the last year before the
    release junk ends the title (so ``Blade.Runner.2049.2017`` is a 2017 film)."""
    text = _BRACKETS.sub(" ", stem)
    junk = _JUNK.search(text)
    head = text if junk is None else text[: junk.start()]
    years = [found for found in _YEAR.finditer(head) if found.start() > 0]
    if not years:
        return None
    title = _clean_title(head[: years[-1].start()])
    if not title:
        return None
    return MediaMetadata(
        kind=MediaKind.MOVIE,
        title=title,
        source=MetadataSource.FILENAME,
        year=int(years[-1].group(1)),
    )


def _music_video(folders: list[str], stem: str) -> MediaMetadata:
    """``Artist - Song (Official Video)`` gives ``Song``. A bare ``Song`` counts as a real
    title only inside an artist folder."""
    text = _OFFICIAL.sub(" ", stem)
    _artist, separator, song = text.partition(" - ")
    title = _clean_title(song if separator else text)
    real = bool(title) and (bool(separator) or bool(folders))
    return MediaMetadata(
        kind=MediaKind.MUSIC_VIDEO,
        title=title or _fallback_title(stem),
        status=MetadataStatus.OK if real else MetadataStatus.PLACEHOLDER,
        source=MetadataSource.FOLDER if folders and not separator else MetadataSource.FILENAME,
    )


def _from_guessit(name: str, stem: str, kind_hint: MediaKind | None) -> MediaMetadata | None:
    """guessit's reading, trusted only when it found structure beyond a title (an episode
    number, a date or a year); a bare title is no better than the placeholder."""
    found = _guess(name, kind_hint)
    show = _SPACES.sub(" ", _sanitize(_first_str(found.get("title")))).strip()
    if not show:
        return None
    if found.get("type") == "episode":
        episode = _first_int(found.get("episode"))
        date = found.get("date")
        iso = date.isoformat() if hasattr(date, "isoformat") else None
        if episode is None and iso is None:
            return None
        after = _first_str(found.get("episode_title"))
        token = _Token(None, episode, 0, 0, iso)
        season = _first_int(found.get("season"))
        return _episode(
            stem, after, token, show=show, season=season, year=None, source=MetadataSource.FILENAME
        )
    year = _first_int(found.get("year"))
    if year is None:
        return None
    return MediaMetadata(
        kind=MediaKind.MOVIE, title=show, source=MetadataSource.FILENAME, year=year
    )


def _guess(name: str, kind_hint: MediaKind | None) -> dict[str, object]:
    if len(name) > _NAME_MAX:
        # No real file name is longer, and guessit's time grows steeply with length.
        return {}
    options: dict[str, str] = {}
    if kind_hint is MediaKind.EPISODE:
        options["type"] = "episode"
    elif kind_hint is MediaKind.MOVIE:
        options["type"] = "movie"
    # Imported here: guessit compiles its rule base on import, which only this fallback needs.
    from guessit import guessit  # noqa: PLC0415

    try:
        return dict(guessit(name, options))
    # guessit is heuristics over arbitrary text; it has crashed on odd names before, and
    # this parser promises never to raise, so any failure means "no reading".
    except Exception:  # noqa: BLE001
        return {}


def _first_str(value: object) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def _first_int(value: object) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
