"""A station read from another program (dizqueTV, Tunarr, ErsatzTV), in our vocabulary.

The format readers (``exstreamtv.formats.dizquetv`` and friends) turn the other program's
files into a :class:`ForeignStation`: channels with schedule items over *foreign
collections* (ordered media references), and filler presets over the same collections.
Nothing here is stored yet and no media is matched: the import service matches each
:class:`MediaRef` to a media item by media-server id or path, then creates everything.

A looping lineup (dizqueTV and Tunarr play one list of programmes over and over) becomes
an ``items`` schedule by :func:`lineup_schedule`: consecutive programmes of one show (or
custom show) are one run, played as ``multiple`` items from a collection of that show's
programmes in season/episode order, and flex (offline) time after a run becomes a tail
filler of that length.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time

from exstreamtv.domain.profiles import WatermarkStyle
from exstreamtv.domain.schedules import FillerKind, Lateness, PlaybackOrder, PlayMode, TailMode


class ForeignSystem(enum.StrEnum):
    DIZQUETV = "dizquetv"
    TUNARR = "tunarr"
    ERSATZTV = "ersatztv"

    @property
    def label(self) -> str:
        return {"dizquetv": "dizqueTV", "tunarr": "Tunarr", "ersatztv": "ErsatzTV"}[self.value]


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media item as the other program knew it.

    ``remote_ids`` are ``(server kind, id)`` pairs: ``("plex", rating key)``,
    ``("jellyfin", item id)``, ``("emby", item id)``. ``path`` is the file path the other
    program (or its media server) saw, before any path mapping. ``duration_ms`` is what it
    recorded, for the report only.
    """

    title: str
    kind: str = "other"  # episode | movie | music_video | other
    duration_ms: int = 0
    show: str | None = None
    season: int | None = None
    episode: int | None = None
    path: str | None = None
    remote_ids: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """How the report names the item: ``Show S01E02 (title)`` or the title."""
        if self.show and self.season is not None and self.episode is not None:
            return f"{self.show} S{self.season:02d}E{self.episode:02d} ({self.title})"
        return self.title


class ForeignCollectionKind(enum.StrEnum):
    ITEMS = "items"  # the listed media, matched one by one
    SHOW = "show"  # every episode of ``show`` (matched by name in our catalogue)
    SEASON = "season"  # every episode of ``show`` season ``season``


@dataclass(frozen=True, slots=True)
class ForeignCollection:
    """Media a schedule or a filler preset draws from; ``key`` is unique in the station."""

    key: str
    name: str
    media: tuple[MediaRef, ...] = ()
    kind: ForeignCollectionKind = ForeignCollectionKind.ITEMS
    show: str | None = None
    season: int | None = None


@dataclass(frozen=True, slots=True)
class ForeignFillerPreset:
    """A filler preset over weighted foreign collections (``(collection key, weight)``)."""

    key: str
    name: str
    kind: FillerKind
    collections: tuple[tuple[str, int], ...]
    cooldown_minutes: int = 0
    count: int = 1
    tail_boundary_minutes: int | None = None
    tail_fixed_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ForeignScheduleItem:
    """One item of an ``items`` schedule; ``filler`` maps a kind to a preset key."""

    collections: tuple[str, ...]
    order: PlaybackOrder = PlaybackOrder.SEASON_EPISODE
    mode: PlayMode = PlayMode.ONE
    count: int = 1
    duration_minutes: int | None = None
    tail_mode: TailMode = TailMode.TRIM
    fixed_start: time | None = None
    lateness: Lateness = Lateness.START_LATE
    guide_title: str | None = None
    filler: tuple[tuple[FillerKind, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ForeignChannel:
    """A channel and its programming. ``items`` empty: the channel had nothing we can
    schedule (the reason is in the station's notes). ``logo`` is a URL or a file path in
    the other program's folder; ``fallback`` a preset key."""

    number: str
    name: str
    group: str | None = None
    logo: str | None = None
    watermark: WatermarkStyle | None = None
    items: tuple[ForeignScheduleItem, ...] = ()
    fallback: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class ForeignStation:
    """Everything read from another program, plus ``notes``: what could not be mapped."""

    system: ForeignSystem
    channels: tuple[ForeignChannel, ...]
    collections: tuple[ForeignCollection, ...] = ()
    presets: tuple[ForeignFillerPreset, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LineupEntry:
    """One entry of a looping lineup: a programme (``media``) or flex time (``None``).

    ``group`` names the run the programme belongs to (a custom show's id, else the show's
    title); ``group_name`` is how that collection is named."""

    duration_ms: int
    media: MediaRef | None = None
    group: str | None = None
    group_name: str | None = None


@dataclass(frozen=True, slots=True)
class LineupSchedule:
    """What :func:`lineup_schedule` made of a lineup."""

    items: tuple[ForeignScheduleItem, ...]
    collections: tuple[ForeignCollection, ...]
    presets: tuple[ForeignFillerPreset, ...]
    fallback: str | None = None


@dataclass(slots=True)
class _Run:
    group: str
    count: int = 0
    flex_ms: int = 0
    members: list[MediaRef] = field(default_factory=list)


def lineup_schedule(
    prefix: str,
    channel_label: str,
    lineup: Sequence[LineupEntry],
    filler: Sequence[tuple[str, int]] = (),
    filler_cooldown_minutes: int = 0,
) -> LineupSchedule:
    """An ``items`` schedule that replays ``lineup`` as closely as our engine allows.

    ``prefix`` makes collection and preset keys unique per channel; ``channel_label``
    names them (``"dizqueTV 5"``). ``filler``: weighted filler collection keys that fill
    flex time (flex without filler is offline time). Runs of the same group become one
    ``multiple`` item (``one`` for a single programme); each group's collection lists its
    programmes in lineup order, played in season/episode order. Flex time after a run is
    a tail filler of that many seconds. Leading flex joins the last run (the lineup loops).
    With filler, a fallback preset of it (``fallback``) covers whatever else is empty.
    """
    runs: list[_Run] = []
    names: dict[str, str] = {}
    lead_flex = 0
    for entry in lineup:
        if entry.media is None:
            if runs:
                runs[-1].flex_ms += entry.duration_ms
            else:
                lead_flex += entry.duration_ms
            continue
        group = entry.group or _default_group(entry.media)
        names.setdefault(group, entry.group_name or _default_group_name(entry.media))
        if not runs or runs[-1].group != group or runs[-1].flex_ms:
            runs.append(_Run(group))
        runs[-1].count += 1
        runs[-1].members.append(entry.media)
    if runs:
        runs[-1].flex_ms += lead_flex
    members: dict[str, list[MediaRef]] = {}
    for run in runs:
        members.setdefault(run.group, []).extend(run.members)
    keys = {group: f"{prefix}:{group}" for group in members}
    collections = tuple(
        ForeignCollection(keys[group], f"{channel_label} {names[group]}", tuple(_unique(refs)))
        for group, refs in members.items()
    )
    presets: dict[int, ForeignFillerPreset] = {}
    items = []
    for run in runs:
        flex_seconds = round(run.flex_ms / 1000)
        tail: tuple[tuple[FillerKind, str], ...] = ()
        if flex_seconds > 0:
            preset = presets.setdefault(
                flex_seconds,
                ForeignFillerPreset(
                    f"{prefix}:flex:{flex_seconds}",
                    f"{channel_label} flex {flex_seconds} s",
                    FillerKind.TAIL,
                    tuple(filler),
                    cooldown_minutes=filler_cooldown_minutes,
                    tail_fixed_seconds=flex_seconds,
                ),
            )
            tail = ((FillerKind.TAIL, preset.key),)
        items.append(
            ForeignScheduleItem(
                (keys[run.group],),
                PlaybackOrder.SEASON_EPISODE,
                PlayMode.ONE if run.count == 1 else PlayMode.MULTIPLE,
                count=run.count,
                filler=tail,
            )
        )
    made = list(presets.values())
    fallback = None
    if filler:
        fallback = f"{prefix}:fallback"
        made.append(
            ForeignFillerPreset(
                fallback, f"{channel_label} filler", FillerKind.FALLBACK, tuple(filler),
                filler_cooldown_minutes,
            )
        )  # fmt: skip
    return LineupSchedule(tuple(items), collections, tuple(made), fallback)


def _default_group(media: MediaRef) -> str:
    if media.kind == "episode" and media.show:
        return f"show:{media.show}"
    return f"kind:{media.kind}"


def _default_group_name(media: MediaRef) -> str:
    if media.kind == "episode" and media.show:
        return media.show
    return {"movie": "Movies", "music_video": "Music videos"}.get(media.kind, "Videos")


def _unique(refs: Iterable[MediaRef]) -> list[MediaRef]:
    """``refs`` without repeats, first occurrence first."""
    return list(dict.fromkeys(refs))
