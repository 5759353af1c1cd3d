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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from exstreamtv.domain.guide import GuideMedia, GuidePolicy, Programme, ProgrammeKind
from exstreamtv.domain.playout import EntryKind, PlayoutEntry

UNKNOWN_TITLE = "To Be Announced"
"""Title of a programme whose media is unknown. It is a real listing phrase, so unlike the
upstream ``Item 123`` placeholder it passes validation; it is channel-agnostic on purpose."""

_GAP_KINDS = frozenset({EntryKind.FALLBACK, EntryKind.OFFLINE})
_EPISODE = "episode"
_MOVIE = "movie"


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
    programmes: list[Programme] = []
    gap: list[PlayoutEntry] = []
    for group in _groups(entries):
        if all(entry.kind in _GAP_KINDS for entry in group):
            gap.extend(group)
            continue
        body, trailing = _trailing_offline(group)
        lead = [] if policy.pre_roll_starts_programme else _leading_pre_roll(body)
        if lead and (gap or programmes):  # the pre-roll joins what is listed before it
            body = body[len(lead) :]
            if gap:
                gap.extend(lead)
            else:
                programmes[-1] = replace(programmes[-1], stop_ms=lead[-1].finish_ms)
        _add_gap(programmes, gap, channel_id, policy)
        programmes.append(_content_programme(channel_id, body, media))
        gap = trailing
    _add_gap(programmes, gap, channel_id, policy)
    return programmes


def _trailing_offline(group: list[PlayoutEntry]) -> tuple[list[PlayoutEntry], list[PlayoutEntry]]:
    """``group`` split before its trailing run of offline entries (the group holds at least
    one entry that is not a gap, so the first part is never empty)."""
    end = len(group)
    while group[end - 1].kind is EntryKind.OFFLINE:
        end -= 1
    return group[:end], group[end:]


def _leading_pre_roll(group: list[PlayoutEntry]) -> list[PlayoutEntry]:
    """The group's leading pre-roll entries; none when the group is nothing else."""
    count = 0
    while count < len(group) and group[count].kind is EntryKind.PRE_ROLL:
        count += 1
    return group[:count] if count < len(group) else []


def _groups(entries: Sequence[PlayoutEntry]) -> Iterator[list[PlayoutEntry]]:
    """Runs of consecutive entries with the same ``guide_group``."""
    group: list[PlayoutEntry] = []
    for entry in entries:
        if group and entry.guide_group != group[0].guide_group:
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def _add_gap(
    programmes: list[Programme], gap: list[PlayoutEntry], channel_id: str, policy: GuidePolicy
) -> None:
    if not gap:
        return
    start_ms, stop_ms = gap[0].start_ms, gap[-1].finish_ms
    if programmes and stop_ms - start_ms < policy.fold_gaps_shorter_than_ms:
        programmes[-1] = replace(programmes[-1], stop_ms=stop_ms)
        return
    filler = any(entry.media_id is not None for entry in gap)
    kind = ProgrammeKind.FILLER if filler else ProgrammeKind.OFFLINE
    title = policy.filler_title if filler else policy.offline_title
    programmes.append(Programme(channel_id, start_ms, stop_ms, title, kind=kind))


def _content_programme(
    channel_id: str, group: list[PlayoutEntry], media: Mapping[int, GuideMedia]
) -> Programme:
    anchor: PlayoutEntry | None = None
    override: str | None = None
    for entry in group:
        if anchor is None and entry.kind is EntryKind.CONTENT:
            anchor = entry
        if override is None and _has_text(entry.guide_title):
            override = entry.guide_title
    if anchor is None:  # pre/post-roll only: describe the first playable entry
        anchor = next((entry for entry in group if entry.kind not in _GAP_KINDS), group[0])
    start_ms, stop_ms = group[0].start_ms, group[-1].finish_ms
    item = media.get(anchor.media_id) if anchor.media_id is not None else None
    if item is None:
        return Programme(channel_id, start_ms, stop_ms, override or UNKNOWN_TITLE)
    return _described(channel_id, start_ms, stop_ms, item, override)


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
