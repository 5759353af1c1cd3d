"""Kodi-style NFO sidecars: parse them safely and overlay them on path-derived metadata.

Pure: takes bytes, returns values. NFO files come from strangers (downloaded releases,
shared libraries), so the XML is parsed with every DTD and entity feature refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from exstreamtv.domain.media import (
    Artwork,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    MetadataStatus,
)
from exstreamtv.errors import MetadataParseError

if TYPE_CHECKING:
    # Type only: all parsing goes through defusedxml.
    from xml.etree.ElementTree import Element

MAX_NFO_BYTES = 1 << 20
"""Largest NFO accepted, in bytes. Real ones are a few KiB; bigger is garbage or an attack."""

_ROOT_KINDS: dict[str, MediaKind | None] = {
    "movie": MediaKind.MOVIE,
    "tvshow": None,  # describes a show, not a playable item
    "episodedetails": MediaKind.EPISODE,
    "musicvideo": MediaKind.MUSIC_VIDEO,
}
_PROVIDERS = ("imdb", "tmdb", "tvdb")

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one.
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z][\w.-]*)["']""")
_FIRST_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)")
_IMDB_ID = re.compile(r"\btt\d{5,10}\b")
_TMDB_URL = re.compile(r"themoviedb\.org/(?:movie|tv)/(\d+)")
_DATE_YEAR = re.compile(r"^(\d{4})-\d{2}-\d{2}")
_RATED_PREFIX = re.compile(r"^rated(?:\s+|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NfoMetadata:
    """What one NFO says. Every field is ``None`` (or empty) when the NFO does not say it.

    ``root`` is the root element name (``movie``, ``tvshow``, ``episodedetails``,
    ``musicvideo``), ``None`` for a URL-only NFO. ``kind`` follows from it and is ``None``
    for ``tvshow`` (a show is not a playable item) and URL-only NFOs. ``thumb`` is the poster
    (``<thumb aspect="poster">``) or else the first ``<thumb>``; ``external_ids`` are
    ``(provider, id)`` pairs in the order imdb, tmdb, tvdb.
    """

    root: str | None = None
    kind: MediaKind | None = None
    title: str | None = None
    show_title: str | None = None
    season: int | None = None
    episode: int | None = None
    year: int | None = None
    plot: str | None = None
    genres: tuple[str, ...] = ()
    content_rating: str | None = None
    external_ids: tuple[tuple[str, str], ...] = ()
    thumb: str | None = None
    fanart: str | None = None


def parse_nfo(data: bytes) -> NfoMetadata:
    """Parse the bytes of an NFO sidecar.

    Accepts XML with root ``movie``/``tvshow``/``episodedetails``/``musicvideo`` (trailing
    non-XML text after the root, such as Kodi's URL line, is ignored) and URL-only NFOs
    naming an IMDb (or TMDB) title. Text is UTF-8 unless a BOM or the XML declaration says
    otherwise.

    Raises ``MetadataParseError`` with a short reason when the file is empty, larger than
    ``MAX_NFO_BYTES``, not decodable, not well-formed, declares a DTD or entities, has
    another root element, or has a non-numeric season or episode.
    """
    if len(data) > MAX_NFO_BYTES:
        raise MetadataParseError(f"NFO is larger than 1 MiB ({len(data)} bytes)")
    text = _decode(data).strip()
    if not text:
        raise MetadataParseError("NFO is empty")
    if not text.startswith("<"):
        return _parse_url_only(text)
    root = _parse_xml(_cut_after_root(text))
    if root.tag not in _ROOT_KINDS:
        raise MetadataParseError(
            f"NFO root <{root.tag[:40]}> is not movie/tvshow/episodedetails/musicvideo"
        )
    return _from_element(root)


def _decode(data: bytes) -> str:
    """Bytes to text: a BOM wins, then the XML declaration, then UTF-8 (the XML default)."""
    encoding = "utf-8"
    for bom, codec in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], codec
            if codec != "utf-8":
                data = bom + data  # Python's utf-16/utf-32 codecs read the byte order from it
            break
    else:
        declared = _DECLARED_ENCODING.match(data)
        if declared is not None:
            encoding = declared.group(1).decode("ascii")
    try:
        return data.decode(encoding)
    except LookupError:
        raise MetadataParseError(f"NFO declares an unknown encoding {encoding[:40]!r}") from None
    except UnicodeDecodeError as err:
        raise MetadataParseError(f"NFO is not valid {encoding} text: {err.reason}") from None


def _cut_after_root(text: str) -> str:
    """Drop what follows the root's closing tag: Kodi NFOs often end with a URL line."""
    first = _FIRST_TAG.search(text)
    if first is None:
        return text
    closing = re.compile(rf"</{re.escape(first.group(1))}\s*>")
    end = max((m.end() for m in closing.finditer(text, first.end())), default=None)
    return text if end is None else text[:end]


def _parse_url_only(text: str) -> NfoMetadata:
    """A non-XML NFO is useful only as a pointer to a title on IMDb or TMDB."""
    ids: list[tuple[str, str]] = []
    if (imdb := _IMDB_ID.search(text)) is not None:
        ids.append(("imdb", imdb.group(0)))
    if (tmdb := _TMDB_URL.search(text)) is not None:
        ids.append(("tmdb", tmdb.group(1)))
    if not ids:
        raise MetadataParseError("NFO is neither XML nor a URL naming an IMDb or TMDB title")
    return NfoMetadata(external_ids=tuple(ids))


def _parse_xml(text: str) -> Element:
    # A str is handed to expat so the declared encoding (already applied) is ignored.
    try:
        return fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MetadataParseError("NFO declares a DTD or entities (refused)") from None
    except ParseError as err:
        raise MetadataParseError(f"NFO is not well-formed XML: {err}") from None


def _from_element(root: Element) -> NfoMetadata:
    return NfoMetadata(
        root=root.tag,
        kind=_ROOT_KINDS[root.tag],
        title=_text(root, "title"),
        show_title=_text(root, "showtitle"),
        season=_number(root, "season"),
        episode=_number(root, "episode"),
        year=_year(root),
        plot=_text(root, "plot") or _text(root, "outline"),
        genres=_genres(root),
        content_rating=_rating(root),
        external_ids=_external_ids(root),
        thumb=_thumb(root),
        fanart=_fanart(root),
    )


def _text(parent: Element, tag: str) -> str | None:
    """Stripped text of the first ``tag`` child; ``None`` when absent or blank."""
    element = parent.find(tag)
    if element is None:
        return None
    return "".join(element.itertext()).strip() or None


def _number(parent: Element, tag: str) -> int | None:
    text = _text(parent, tag)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise MetadataParseError(f"NFO <{tag}> is not a number: {text[:40]!r}") from None
    # Kodi writes -1 for "unknown" (tvshow.nfo exports carry <season>-1</season>).
    return value if value >= 0 else None


def _year(root: Element) -> int | None:
    year = _text(root, "year")
    if year is not None and year.isascii() and year.isdigit() and len(year) == 4:
        return int(year) or None
    for tag in ("premiered", "aired"):
        date = _DATE_YEAR.match(_text(root, tag) or "")
        if date is not None:
            return int(date.group(1)) or None
    return None


def _genres(root: Element) -> tuple[str, ...]:
    """All ``<genre>`` values; Kodi also packs several into one as ``A / B``."""
    found: dict[str, None] = {}  # a dict keeps first-seen order while dropping duplicates
    for element in root.findall("genre"):
        for genre in "".join(element.itertext()).split("/"):
            if genre.strip():
                found.setdefault(genre.strip(), None)
    return tuple(found)


def _rating(root: Element) -> str | None:
    mpaa = _text(root, "mpaa")
    if mpaa is None:
        return None
    return _RATED_PREFIX.sub("", mpaa).strip() or None


def _external_ids(root: Element) -> tuple[tuple[str, str], ...]:
    """``<uniqueid type=...>`` first, then the legacy ``<imdbid>``-style tags fill gaps."""
    ids: dict[str, str] = {}
    for element in root.findall("uniqueid"):
        provider = (element.get("type") or "").strip().lower()
        value = (element.text or "").strip()
        if provider in _PROVIDERS and value:
            ids.setdefault(provider, value)
    for provider in _PROVIDERS:
        legacy = _text(root, f"{provider}id")
        if legacy is not None:
            ids.setdefault(provider, legacy)
    legacy_id = _text(root, "id")
    # Old scrapers put the IMDb id in <id>; other numbers there are ambiguous, so skip them.
    if legacy_id is not None and _IMDB_ID.fullmatch(legacy_id):
        ids.setdefault("imdb", legacy_id)
    return tuple((provider, ids[provider]) for provider in _PROVIDERS if provider in ids)


def _thumb(root: Element) -> str | None:
    thumbs = [(t.get("aspect"), (t.text or "").strip()) for t in root.findall("thumb")]
    urls = [url for _, url in thumbs if url]
    posters = [url for aspect, url in thumbs if url and aspect == "poster"]
    return next(iter(posters or urls), None)


def _fanart(root: Element) -> str | None:
    """First ``<fanart><thumb>``; a ``url`` attribute on ``<fanart>`` is its base URL."""
    fanart = root.find("fanart")
    if fanart is None:
        return None
    path = _text(fanart, "thumb")
    if path is None:
        return None
    base = (fanart.get("url") or "").strip()
    return base + path if base and "://" not in path else path


def apply_nfo(
    nfo: NfoMetadata, base: MediaMetadata, show_nfo: NfoMetadata | None = None
) -> MediaMetadata:
    """Overlay an item's NFO (and its show's ``tvshow.nfo``) on path-derived metadata.

    NFO values win over ``base``. For an episode, ``show_nfo`` supplies the show title,
    genres, content rating, poster and fanart the episode NFO lacks. A ``tvshow`` NFO given
    as ``nfo`` is treated as ``show_nfo``. The result has ``source=NFO``; its status is OK
    when a real title results (from the NFO, from ``base`` when that was OK, or the show
    title of an episode whose season and episode are known), otherwise ``base``'s status.
    """
    if nfo.root == "tvshow" and show_nfo is None:
        nfo, show_nfo = NfoMetadata(), nfo
    show = show_nfo or NfoMetadata()
    kind = nfo.kind or base.kind
    episodic = kind is MediaKind.EPISODE
    merged = replace(
        base,
        kind=kind,
        source=MetadataSource.NFO,
        show=nfo.show_title or (show.title if episodic else None) or base.show,
        season=nfo.season if nfo.season is not None else base.season,
        episode=nfo.episode if nfo.episode is not None else base.episode,
        year=nfo.year or base.year,
        plot=nfo.plot or base.plot,
        genres=nfo.genres or (show.genres if episodic else ()) or base.genres,
        content_rating=nfo.content_rating or show.content_rating or base.content_rating,
        artwork=_artwork(nfo, show, base.artwork, episodic=episodic),
        external_ids=_merge_ids(base.external_ids, nfo.external_ids),
    )
    return _settle_title(merged, nfo.title, base)


def _settle_title(merged: MediaMetadata, title: str | None, base: MediaMetadata) -> MediaMetadata:
    if title is not None:
        return replace(merged, title=title, status=MetadataStatus.OK, reason=None)
    if base.status is MetadataStatus.OK:
        return merged
    numbered = merged.season is not None and merged.episode is not None
    if merged.is_episodic and merged.show is not None and numbered:
        # Same rule as the path parser: an untitled episode is named after its show.
        return replace(merged, title=merged.show, status=MetadataStatus.OK, reason=None)
    return merged


def _artwork(nfo: NfoMetadata, show: NfoMetadata, art: Artwork, *, episodic: bool) -> Artwork:
    # An episode's <thumb> is a still from it; the show's thumb is the poster.
    if episodic:
        return Artwork(
            poster=show.thumb or art.poster,
            thumb=nfo.thumb or art.thumb,
            fanart=nfo.fanart or show.fanart or art.fanart,
        )
    return Artwork(
        poster=nfo.thumb or art.poster,
        thumb=art.thumb,
        fanart=nfo.fanart or art.fanart,
    )


def _merge_ids(
    base: tuple[tuple[str, str], ...], nfo: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    merged = dict(base) | dict(nfo)
    return tuple(sorted(merged.items()))
