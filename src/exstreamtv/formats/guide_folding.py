"""Fold a channel's playout entries into guide programmes.

Pure: playout rows and media descriptions in, :class:`Programme` values out. The guide is
derived from the same rows the stream plays, so the two cannot disagree.

The folding policy (:class:`GuidePolicy`):

- Entries sharing a ``guide_group`` (content with its pre/mid/post-roll and tail filler) make
  one programme spanning the group, with two exceptions that keep the listed start and end
  true to the picture:
  - its leading pre-roll belongs to what is listed before it, so the programme starts with
    its own first frame (unless ``pre_roll_starts_programme``, or nothing is listed before);
  - its trailing offline time (a pad no filler could fill: the stream shows the offline
    slate) is a gap, never hidden inside the programme.
- A *gap* is a run of consecutive groups that hold only ``FALLBACK``/``OFFLINE`` entries
  (with such trailing offline time). Adjacent gaps always merge first, so a long stretch of
  short fallback clips is shown as what it is rather than hidden inside the programme
  before it.
- A gap shorter than ``fold_gaps_shorter_than_ms`` (default 0: never) extends the programme
  before it. The first gap of a timeline has no programme before it, so it becomes its own
  programme.
- Any other gap is its own programme: ``filler_title`` (kind ``FILLER``) when it holds any
  filler, else ``offline_title`` (kind ``OFFLINE``).
- A group whose media is unknown (deleted since the playout was built) is titled by the
  entries' ``guide_title``, else :data:`UNKNOWN_TITLE`.

Given contiguous entries, the output is contiguous, ordered by start and never overlaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exstreamtv.domain.guide import GuideMedia, GuidePolicy, Programme, ProgrammeKind
from exstreamtv.domain.playout import EntryKind, PlayoutEntry

UNKNOWN_TITLE = "To Be Announced"
"""Title of a programme whose media is unknown. It is a real listing phrase, so unlike the
upstream ``Item 123`` placeholder it passes validation; it is channel-agnostic on purpose."""

_GAP_KINDS = frozenset({EntryKind.FALLBACK, EntryKind.OFFLINE})
_EPISODE = "episode"
_MOVIE = "movie"

GuideEntry = tuple[int, int, EntryKind, int | None, int, str | None]
"""What folding reads of a playout entry: ``(start_ms, finish_ms, kind, media_id,
guide_group, guide_title)``. A plain tuple: the guide reads hundreds of thousands."""

Shown = tuple[ProgrammeKind, int | None, str | None]
"""What a programme shows, whatever its times: its kind, and for content the media id
it describes and the title that overrides the media's (``None``: the media's own)."""

Span = tuple[int, int, Shown]
"""A programme before it is described: ``(start_ms, stop_ms, shown)``."""


def programmes_from_entries(
    channel_id: str,
    entries: Sequence[PlayoutEntry],
    media: Mapping[int, GuideMedia],
    policy: GuidePolicy,
) -> list[Programme]:
    """The guide programmes of one channel's ``entries`` (ordered by start, contiguous).

    ``media`` maps media ids to their guide description; a missing id is not an error
    (see :data:`UNKNOWN_TITLE`). Times are copied from the entries (UTC ms).
    """
    spans = fold([guide_entry(entry) for entry in entries], policy)
    return [describe(channel_id, span, media, policy) for span in spans]


def guide_entry(entry: PlayoutEntry) -> GuideEntry:
    return (
        entry.start_ms, entry.finish_ms, entry.kind, entry.media_id, entry.guide_group,
        entry.guide_title,
    )  # fmt: skip


def fold(entries: Sequence[GuideEntry], policy: GuidePolicy) -> list[Span]:
    """The programmes of one channel's entries (ordered by start, contiguous), as spans
    ordered by start; :func:`describe` makes each a :class:`Programme`.

    This is the folding policy of the module docstring, written as one pass with no
    object per entry: the guide folds every row of its window.
    """
    spans: list[Span] = []
    gap = _Gap()
    lead_moves = not policy.pre_roll_starts_programme
    count = len(entries)
    index = 0
    while index < count:
        first = entries[index]
        end = index + 1
        group = first[4]
        while end < count and entries[end][4] == group:
            end += 1
        low, index = index, end  # the group is entries[low:end]
        if end - low == 1:  # most groups are one entry: no generator
            only_gaps = first[2] in _GAP_KINDS
        else:
            only_gaps = all(entries[at][2] in _GAP_KINDS for at in range(low, end))
        if only_gaps:
            gap.add(first[0], entries[end - 1][1], _holds_media(entries, low, end))
            continue
        high = end
        while entries[high - 1][2] is EntryKind.OFFLINE:  # trailing offline time: a gap
            high -= 1
        if lead_moves and (gap.open or spans):
            low = _move_pre_roll(entries, low, high, gap, spans)
        gap.close(spans, policy)
        members = entries[low:high] if high - low > 1 else (entries[low],)
        spans.append((entries[low][0], entries[high - 1][1], _content(members)))
        if high < end:
            gap.add(entries[high][0], entries[end - 1][1], _holds_media(entries, high, end))
    gap.close(spans, policy)
    return spans


class _Gap:
    """The gap being gathered while folding: ``[start_ms, end_ms)``, and whether it holds
    filler."""

    __slots__ = ("end_ms", "filler", "start_ms")

    def __init__(self) -> None:
        self.start_ms = self.end_ms = -1
        self.filler = False

    @property
    def open(self) -> bool:
        return self.start_ms >= 0

    def add(self, start_ms: int, end_ms: int, filler: bool) -> None:
        """Extend the gap to ``end_ms`` (opening it at ``start_ms`` if none is open)."""
        if self.start_ms < 0:
            self.start_ms, self.filler = start_ms, False
        self.end_ms = end_ms
        self.filler = self.filler or filler

    def close(self, spans: list[Span], policy: GuidePolicy) -> None:
        """List the open gap, if any, after ``spans`` (or fold it into the last one)."""
        if self.start_ms < 0:
            return
        start_ms, stop_ms = self.start_ms, self.end_ms
        self.start_ms = -1
        if spans and stop_ms - start_ms < policy.fold_gaps_shorter_than_ms:
            before = spans[-1]
            spans[-1] = (before[0], stop_ms, before[2])
            return
        spans.append((start_ms, stop_ms, _FILLER if self.filler else _OFFLINE))


def _move_pre_roll(
    entries: Sequence[GuideEntry], low: int, high: int, gap: _Gap, spans: list[Span]
) -> int:
    """Give the leading pre-roll of the group ``entries[low:high]`` to what is listed
    before it (the open gap, else the last span); returns where the group now starts. A
    group that is nothing but pre-roll keeps it."""
    body = low
    while body < high and entries[body][2] is EntryKind.PRE_ROLL:
        body += 1
    if body in (low, high):
        return low
    lead_end = entries[body - 1][1]
    if gap.open:
        gap.add(entries[low][0], lead_end, _holds_media(entries, low, body))
    else:
        before = spans[-1]
        spans[-1] = (before[0], lead_end, before[2])
    return body


def _holds_media(entries: Sequence[GuideEntry], low: int, high: int) -> bool:
    """Whether any of ``entries[low:high]`` plays media (filler, not the offline slate)."""
    return any(entries[at][3] is not None for at in range(low, high))


def describe(
    channel_id: str, span: Span, media: Mapping[int, GuideMedia], policy: GuidePolicy
) -> Programme:
    """The :class:`Programme` of ``span`` on ``channel_id``."""
    start_ms, stop_ms, (kind, media_id, override) = span
    if kind is ProgrammeKind.FILLER:
        return Programme(channel_id, start_ms, stop_ms, policy.filler_title, kind=kind)
    if kind is ProgrammeKind.OFFLINE:
        return Programme(channel_id, start_ms, stop_ms, policy.offline_title, kind=kind)
    item = media.get(media_id) if media_id is not None else None
    if item is None:
        return Programme(channel_id, start_ms, stop_ms, override or UNKNOWN_TITLE)
    return _described(channel_id, start_ms, stop_ms, item, override)


_FILLER: Shown = (ProgrammeKind.FILLER, None, None)
_OFFLINE: Shown = (ProgrammeKind.OFFLINE, None, None)


def offline_span(start_ms: int, stop_ms: int) -> Span:
    """Offline time over ``[start_ms, stop_ms)``: how a channel with nothing in a window is
    listed (a channel with no programmes at all would make the guide invalid)."""
    return (start_ms, stop_ms, _OFFLINE)


def _content(group: Sequence[GuideEntry]) -> Shown:
    """What a group with content or rolls shows: its first content entry's media (else
    its first playable entry's: pre/post-roll only) and its first title override."""
    if len(group) == 1:
        entry = group[0]
        override = entry[5] if _has_text(entry[5]) else None
        return (ProgrammeKind.CONTENT, entry[3], override)
    anchor: GuideEntry | None = None
    override = None
    for entry in group:
        if anchor is None and entry[2] is EntryKind.CONTENT:
            anchor = entry
        if override is None and _has_text(entry[5]):
            override = entry[5]
    if anchor is None:
        anchor = next((entry for entry in group if entry[2] not in _GAP_KINDS), group[0])
    return (ProgrammeKind.CONTENT, anchor[3], override)


def _described(
    channel_id: str, start_ms: int, stop_ms: int, item: GuideMedia, override: str | None
) -> Programme:
    """A content programme from ``item``; titles fall back override → show → title →
    :data:`UNKNOWN_TITLE` so a blank metadata field never blanks the guide."""
    episodic = item.kind == _EPISODE
    own_title = item.title if _has_text(item.title) else None
    sub_title: str | None = None
    if episodic:
        show = item.show if _has_text(item.show) else None
        title = override or show or own_title or UNKNOWN_TITLE
        sub_title = own_title if show else None
        categories = _with_category(item.genres, "Series")
    else:
        title = override or own_title or UNKNOWN_TITLE
        is_movie = item.kind == _MOVIE
        categories = _with_category(item.genres, "Movie") if is_movie else item.genres
    return Programme(
        channel_id,
        start_ms,
        stop_ms,
        title,
        sub_title=sub_title,
        description=item.plot,
        categories=categories,
        year=item.year,
        season=item.season if episodic else None,
        episode=item.episode if episodic else None,
        episodic=episodic,
        icon_url=item.poster_url,
        # No air dates are known, so nothing is claimed to be new.
        previously_shown=True,
        rating=item.content_rating,
    )


def _with_category(genres: tuple[str, ...], category: str) -> tuple[str, ...]:
    return genres if category in genres else (*genres, category)


def _has_text(value: str | None) -> bool:
    return bool(value and not value.isspace())
