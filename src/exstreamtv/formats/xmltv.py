"""XMLTV: validate a guide, and render it as a stream of UTF-8 chunks.

Pure: channels and programmes in, bytes out. Callers validate with :func:`validate_guide`
and serve nothing when it raises; :func:`render_xmltv` writes the same values unchecked.

Every text and attribute value: characters XML 1.0 forbids are stripped (C0 controls but
tab/LF/CR, U+FFFE/U+FFFF, lone surrogates), and so are DEL and the C1 controls (legal XML,
but ``tv_validate_file`` rejects their UTF-8 bytes); the rest is NFC-normalised, keeping
emoji, RTL text and combining marks; ``& < >`` are escaped (and ``"``, tab, LF, CR in
attributes, CR in text, so parsers keep them), which makes ``]]>`` and markup inert.
Times are ``YYYYMMDDhhmmss +0000`` (UTC, whole seconds, floored).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from exstreamtv.domain.guide import GuideChannel, Programme, ProgrammeKind
from exstreamtv.domain.metadata_health import is_placeholder_title
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.guide_folding import UNKNOWN_TITLE, Shown, Span

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# tv_validate_file reads raw bytes: it reports U+FFFD followed by "]", and the mojibake
# "ï¿½", as bad UTF-8 although both are valid; a character reference dodges the match.
_VALIDATOR_QUIRKS = (("\ufffd]", "\ufffd&#93;"), ("\u00ef\u00bf\u00bd", "\u00ef&#191;\u00bd"))
# tv_validate_file's channel id rule (the RFC 2838 "broadcast" form, e.g. "5.exstreamtv").
_CHANNEL_ID = re.compile(r"[-a-zA-Z0-9]+(?:\.[-a-zA-Z0-9]+)+")
_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
_MEMO_LIMIT = 65_536
_COUNTED = (
    "missing_episode_num", "missing_year", "unknown_titles", "filler_programmes",
    "offline_programmes",
)  # fmt: skip
_Label = tuple[str, str]  # a channel's (number, name), for messages
_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'


def _clean(value: str) -> str:
    """``value`` as the guide shows it: XML-forbidden and C1 characters removed, NFC."""
    if not value.isascii() or _FORBIDDEN.search(value):
        value = unicodedata.normalize("NFC", _FORBIDDEN.sub("", value))
    return value


def _text(value: str) -> str:
    """Cleaned and escaped for a text node."""
    value = _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("\r", "&#13;")
    if not value.isascii():
        for quirk, safe in _VALIDATOR_QUIRKS:
            value = value.replace(quirk, safe)
    return value


def _attr(value: str) -> str:
    """Cleaned and escaped for a double-quoted attribute value."""
    value = _text(value).replace('"', "&quot;")
    return value.replace("\t", "&#9;").replace("\n", "&#10;")


def _stamp(ms: int) -> str:
    return time.strftime("%Y%m%d%H%M%S +0000", time.gmtime(ms // 1000))


@dataclass(frozen=True, slots=True)
class GuideStats:
    """Counts from a guide that passed validation, for metrics.

    ``missing_episode_num``: episodic programmes without an episode number (an error when
    numbers are required). ``missing_year``: content programmes without a year.
    ``unknown_titles``: programmes titled ``UNKNOWN_TITLE`` (their media was deleted).
    ``channels_without_programmes``: channels with nothing to list (``tv_validate_file``
    complains about those, so callers should list them as offline).
    """

    channels: int
    programmes: int
    missing_episode_num: int = 0
    missing_year: int = 0
    unknown_titles: int = 0
    filler_programmes: int = 0
    offline_programmes: int = 0
    channels_without_programmes: int = 0

    @classmethod
    def total(cls, parts: Iterable[GuideStats]) -> GuideStats:
        """The counts of several channels (or guides) together."""
        names = [f.name for f in dataclasses.fields(cls)]
        sums = dict.fromkeys(names, 0)
        for part in parts:
            for name in names:
                sums[name] += getattr(part, name)
        return cls(**sums)


def validate_guide(
    channels: Sequence[GuideChannel],
    programmes: Iterable[Programme],
    *,
    episode_num_required: bool,
) -> GuideStats:
    """Check a lineup and its programmes (read once: pass a sequence to render it after);
    return counts, or raise on the first fault.

    Raises :class:`XMLTVValidationError` with ``reason`` one of ``no_channels``,
    ``empty_channel_name``, ``invalid_channel_id`` (not the ``name.domain`` form XMLTV
    validators require), ``duplicate_channel_id``, ``duplicate_channel_number``,
    ``unknown_channel``, ``start_not_before_stop``, ``time_out_of_range`` (outside
    1970-01-01..2100-01-01 UTC), ``empty_title``, ``placeholder_title`` (``Item 123``, or
    blank once cleaned), ``missing_episode_num`` (only when ``episode_num_required``) or
    ``overlap`` (within a channel, ordered by start). The message names the channel by
    number and name; ``channel`` is its number (the unknown id for ``unknown_channel``).
    """
    validate_lineup(channels)
    listings: dict[str, list[Programme]] = {channel.id: [] for channel in channels}
    for programme in programmes:
        listing = listings.get(programme.channel_id)
        if listing is None:
            raise XMLTVValidationError(
                f"programme {programme.title!r} is for channel id {programme.channel_id!r}, "
                "which is not in the lineup",
                reason="unknown_channel",
                channel=programme.channel_id,
            )
        listing.append(programme)
    return GuideStats.total(
        validate_listing(channel, listings[channel.id], episode_num_required=episode_num_required)
        for channel in channels
    )


def validate_listing(
    channel: GuideChannel, programmes: Sequence[Programme], *, episode_num_required: bool
) -> GuideStats:
    """Check one channel's programmes (all of ``channel``; any order): the programme
    faults of :func:`validate_guide`, ``unknown_channel`` aside. Returns its counts."""
    label = (channel.number, channel.name)
    counts = [0] * len(_COUNTED)
    for programme in programmes:
        fault = _time_fault(programme.start_ms, programme.stop_ms) or _description_fault(
            programme, episode_num_required
        )
        if fault is not None:
            what = f"programme {programme.title!r} at {_when(programme.start_ms)} {fault[1]}"
            raise _fail(label, what, fault[0])
        for at, count in enumerate(_counts(programme)):
            counts[at] += count
    _check_overlaps(programmes, label)
    return _stats(len(programmes), counts)


def _counts(programme: Programme) -> tuple[int, ...]:
    """What ``programme`` adds to each of the :data:`_COUNTED` counts."""
    if programme.kind is ProgrammeKind.CONTENT:
        return (
            int(programme.episodic and programme.episode is None),
            int(programme.year is None),
            int(programme.title == UNKNOWN_TITLE),
            0,
            0,
        )
    return (
        0,
        0,
        0,
        int(programme.kind is ProgrammeKind.FILLER),
        int(programme.kind is ProgrammeKind.OFFLINE),
    )


def _stats(programmes: int, counts: Sequence[int]) -> GuideStats:
    return GuideStats(
        channels=1,
        programmes=programmes,
        channels_without_programmes=int(not programmes),
        **dict(zip(_COUNTED, counts, strict=True)),
    )


def _fail(label: _Label, what: str, reason: str) -> XMLTVValidationError:
    message = f"channel {label[0]} ({label[1]!r}): {what}"
    return XMLTVValidationError(message, reason=reason, channel=label[0])


def validate_lineup(channels: Sequence[GuideChannel]) -> None:
    """Check the lineup on its own: the faults of :func:`validate_guide` up to
    ``duplicate_channel_number``."""
    if not channels:
        raise XMLTVValidationError("the lineup has no enabled channels", reason="no_channels")
    ids: set[str] = set()
    numbers: set[str] = set()
    for channel in channels:
        label = (channel.number, channel.name)
        if not _clean(channel.name).strip():
            raise _fail(label, "the channel name is empty", "empty_channel_name")
        if not _CHANNEL_ID.fullmatch(channel.id):
            what = f"channel id {channel.id!r} is not of the form 'name.domain'"
            raise _fail(label, what, "invalid_channel_id")
        if channel.id in ids:
            raise _fail(label, f"channel id {channel.id!r} is used twice", "duplicate_channel_id")
        if channel.number in numbers:
            raise _fail(label, "the channel number is used twice", "duplicate_channel_number")
        ids.add(channel.id)
        numbers.add(channel.number)


def _time_fault(start_ms: int, stop_ms: int) -> tuple[str, str] | None:
    """(reason, what is wrong) when a programme's times are invalid, else ``None``."""
    if start_ms >= stop_ms:
        return "start_not_before_stop", "does not start before it stops"
    if start_ms < 0 or stop_ms > _MAX_MS:
        return "time_out_of_range", "is outside 1970-01-01..2100-01-01 UTC"
    return None


def _description_fault(programme: Programme, required: bool) -> tuple[str, str] | None:
    """(reason, what is wrong) when what ``programme`` shows is invalid, else ``None``."""
    if not programme.title.strip():
        return "empty_title", "has an empty title"
    cleaned = _clean(programme.title).strip()
    if is_placeholder_title(cleaned):
        return "placeholder_title", "has a placeholder title"
    if required and programme.episodic and programme.episode is None:
        return "missing_episode_num", "is episodic but has no episode number"
    return None


def _when(ms: int) -> str:
    return _stamp(ms) if 0 <= ms <= _MAX_MS else f"{ms} ms after the epoch"


def _check_overlaps(listing: Sequence[Programme], label: _Label) -> None:
    ordered = sorted(listing, key=lambda programme: programme.start_ms)  # usually: linear
    for before, after in itertools.pairwise(ordered):
        if after.start_ms < before.stop_ms:
            what = f"programme {after.title!r} at {_stamp(after.start_ms)} overlaps"
            raise _fail(label, f"{what} {before.title!r}", "overlap")


TAIL = "</tv>\n"


def render_xmltv(
    channels: Sequence[GuideChannel],
    programmes: Iterable[Programme],
    *,
    generator: str = "EXStreamTV",
) -> Iterator[bytes]:
    """The XMLTV document as UTF-8 chunks: the header, one chunk per channel, one per
    programme (in the order given: grouped by channel, by start), then the footer.

    Nothing is validated here (see :func:`validate_guide`), but every text is escaped, so
    the output is well-formed XML whatever the values hold.
    """
    writer = XmltvWriter()
    yield writer.opening(generator).encode()
    for channel in channels:
        yield writer.channel(channel).encode()
    last_ms, last_stamp = -1, ""
    for programme in programmes:
        start = last_stamp if programme.start_ms == last_ms else _stamp(programme.start_ms)
        last_ms, last_stamp = programme.stop_ms, _stamp(programme.stop_ms)
        yield writer.programme(programme, start, last_stamp).encode()
    yield TAIL.encode()


class XmltvWriter:
    """The pieces of an XMLTV document: :meth:`opening` and :meth:`channel` elements, then
    programmes (:meth:`programmes`, or :meth:`listing` to check and render one channel's
    folded spans), then :data:`TAIL`. Pieces of one document may come from different
    writers (a channel's programmes can be rendered, cached and joined on their own).

    Escaped element lines, time stamps and whole programme bodies are memoised (titles,
    genres, plots and boundaries repeat); each memo is cleared whenever it holds
    ``memo_limit`` entries, so its memory stays bounded. Threads may share a writer: a
    memo is only looked up and stored into, and what it holds depends only on its key, so
    a race costs at most a recomputation.
    """

    __slots__ = ("_bodies", "_limit", "_memo", "_stamps")

    def __init__(self, memo_limit: int = _MEMO_LIMIT) -> None:
        self._limit = memo_limit
        self._memo: dict[tuple[str, str], str] = {}
        self._stamps: dict[int, str] = {}
        self._bodies: dict[bool, dict[Shown, _Body]] = {True: {}, False: {}}

    @property
    def memoised(self) -> int:
        """Entries held by its largest memo (never more than ``memo_limit``)."""
        return max(len(self._memo), len(self._stamps), *map(len, self._bodies.values()))

    def opening(self, generator: str = "EXStreamTV") -> str:
        """The XML declaration, the DOCTYPE and the ``<tv>`` start tag."""
        return f'{_HEADER}<tv generator-info-name="{_attr(generator)}">\n'

    def head(self, channels: Iterable[GuideChannel], generator: str = "EXStreamTV") -> str:
        """:meth:`opening` and every channel's element: all that precedes the programmes."""
        return self.opening(generator) + "".join(self.channel(c) for c in channels)

    def channel(self, channel: GuideChannel) -> str:
        """One ``<channel>`` element."""
        names = self._line("display-name", channel.name)
        names += self._line("display-name", channel.number)
        icon = self._line("icon", channel.logo_url)
        return f'  <channel id="{_attr(channel.id)}">\n{names}{icon}  </channel>\n'

    def programmes(self, programmes: Iterable[Programme]) -> str:
        """The ``<programme>`` elements of ``programmes`` (one channel's, by start)."""
        pieces: list[str] = []
        last_ms, last_stamp = -1, ""
        for programme in programmes:
            # Contiguous programmes share a boundary: reuse the previous stop's stamp.
            start = last_stamp if programme.start_ms == last_ms else self._stamp(programme.start_ms)
            last_ms, last_stamp = programme.stop_ms, self._stamp(programme.stop_ms)
            pieces.append(self.programme(programme, start, last_stamp))
        return "".join(pieces)

    def programme(self, programme: Programme, start: str, stop: str) -> str:
        """One ``<programme>`` with its children in DTD order (times already stamped)."""
        channel = self._line("@channel", programme.channel_id)
        return f'  <programme start="{start}" stop="{stop}" {channel}{self._body(programme)}'

    def listing(
        self,
        channel: GuideChannel,
        spans: Iterable[Span],
        describe: Callable[[Span], Programme],
        *,
        episode_num_required: bool,
    ) -> tuple[str, GuideStats]:
        """Check and render one channel's folded spans (ordered by start): the
        ``<programme>`` elements and their counts.

        ``describe`` makes the programme a span shows; it is asked once per distinct
        ``shown`` (its times do not matter), which is what makes this fast: the checks
        and the rendering of what a programme shows are done once per media item, only
        the times per programme. The checks are :func:`validate_listing`'s and raise as
        it does.
        """
        label = (channel.number, channel.name)
        attribute = self._line("@channel", channel.id)
        bodies = self._bodies[episode_num_required]
        stamp = self._stamp
        pieces: list[str] = []
        counts = [0] * len(_COUNTED)
        last_ms, last_stamp, last_title = -1, "", ""
        for span in spans:
            start_ms, stop_ms, shown = span
            body = bodies.get(shown)
            if body is None:
                if len(bodies) >= self._limit:
                    bodies.clear()
                body = bodies[shown] = self._shown(describe(span), episode_num_required)
            if body.fault is not None or not 0 <= start_ms < stop_ms <= _MAX_MS:
                fault = _time_fault(start_ms, stop_ms) or body.fault
                if fault is not None:
                    what = f"programme {body.title!r} at {_when(start_ms)} {fault[1]}"
                    raise _fail(label, what, fault[0])
            if start_ms < last_ms:
                what = f"programme {body.title!r} at {_stamp(start_ms)} overlaps"
                raise _fail(label, f"{what} {last_title!r}", "overlap")
            start = last_stamp if start_ms == last_ms else stamp(start_ms)
            last_ms, last_stamp, last_title = stop_ms, stamp(stop_ms), body.title
            pieces.append(
                f'  <programme start="{start}" stop="{last_stamp}" {attribute}{body.text}'
            )
            for at, count in body.counts:
                counts[at] += count
        return "".join(pieces), _stats(len(pieces), counts)

    def checked_programmes(
        self,
        channel: GuideChannel,
        programmes: Sequence[Programme],
        *,
        episode_num_required: bool,
    ) -> tuple[str, GuideStats]:
        """Check and render one channel's programmes (ordered by start), as :meth:`listing`
        does folded spans: for a listing that is more than its spans (a relayed channel
        shows its source's programmes, several to a span). Each programme is checked on
        its own (:func:`validate_listing`); such channels are few."""
        stats = validate_listing(channel, programmes, episode_num_required=episode_num_required)
        return self.programmes(programmes), stats

    def _shown(self, programme: Programme, required: bool) -> _Body:
        counts = tuple((at, count) for at, count in enumerate(_counts(programme)) if count)
        fault = _description_fault(programme, required)
        return _Body(self._body(programme), programme.title, fault, counts)

    def _body(self, programme: Programme) -> str:
        """A ``<programme>``'s children in DTD order and its end tag."""
        line = self._line
        year = programme.year
        return "".join(
            (
                line("title", programme.title),
                line("sub-title", programme.sub_title),
                line("desc", programme.description),
                "" if year is None else f"    <date>{year:04d}</date>\n",
                *[line("category", category) for category in programme.categories],
                line("icon", programme.icon_url),
                _episode_nums(programme.season, programme.episode),
                "    <previously-shown/>\n" if programme.previously_shown else "",
                line("rating", programme.rating),
                "  </programme>\n",
            )
        )

    def _stamp(self, ms: int) -> str:
        found = self._stamps.get(ms)
        if found is None:
            if len(self._stamps) >= self._limit:
                self._stamps.clear()
            found = self._stamps[ms] = _stamp(ms)
        return found

    def _line(self, tag: str, value: str | None) -> str:
        """The line for ``<tag>value</tag>``: empty when ``value`` is blank once cleaned
        (``tv_validate_file`` rejects an empty desc), except for the required title."""
        if value is None:
            return ""
        line = self._memo.get((tag, value))
        if line is None:
            if len(self._memo) >= self._limit:
                self._memo.clear()
            line = self._memo[tag, value] = _line(tag, value)
        return line


@dataclass(frozen=True, slots=True)
class _Body:
    """What a programme shows, checked and rendered once: its children's text, its title
    (for messages), its fault (``None`` when valid) and its (count index, add) pairs."""

    text: str
    title: str
    fault: tuple[str, str] | None
    counts: tuple[tuple[int, int], ...]


def _line(tag: str, value: str) -> str:
    # Blank is judged on the shown text, before escaping turns a lone CR into "&#13;".
    if not _clean(value).strip() and tag != "title":
        return ""
    text = _text(value)
    if tag == "icon":
        return f'    <icon src="{_attr(value)}"/>\n'
    if tag == "rating":
        return f"    <rating>\n      <value>{text}</value>\n    </rating>\n"
    if tag == "@channel":
        return f'channel="{_attr(value)}">\n'
    return f"    <{tag}>{text}</{tag}>\n"


@functools.lru_cache(maxsize=4096)
def _episode_nums(season: int | None, episode: int | None) -> str:
    """``xmltv_ns`` (zero-based ``season.episode.``: S02E05 is ``1.4.``) and ``onscreen``
    (``S02E05``) lines. Season 0 (specials) has no zero-based form, so ``xmltv_ns`` omits
    it; with neither number known there are no lines."""
    if season is None and episode is None:
        return ""
    ns_season = str(season - 1) if season is not None and season >= 1 else ""
    ns_episode = str(episode - 1) if episode is not None and episode >= 1 else ""
    onscreen = "" if season is None else f"S{season:02d}"
    onscreen += "" if episode is None else f"E{episode:02d}"
    lines = f'    <episode-num system="onscreen">{onscreen}</episode-num>\n'
    if ns_season or ns_episode:
        ns = f"{ns_season}.{ns_episode}."
        lines = f'    <episode-num system="xmltv_ns">{ns}</episode-num>\n{lines}'
    return lines
