"""The guide: channels and programmes as IPTV clients and DVRs see them.

Programmes are derived from playout entries (the same rows the stream plays) by
``formats.guide_folding.programmes_from_entries``; nothing here keeps its own idea of time.
Times are UTC milliseconds since the epoch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ProgrammeKind(enum.StrEnum):
    CONTENT = "content"
    FILLER = "filler"  # a long stretch of fallback filler shown as its own programme
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class GuideChannel:
    """A channel in the M3U and the XMLTV guide.

    ``id`` is stable for the life of the channel (it never changes when the channel is
    renamed or renumbered), and is both the XMLTV channel id and the M3U ``tvg-id``.
    """

    id: str
    number: str
    name: str
    group: str | None
    logo_url: str
    stream_url: str
    catchup_url: str | None = None  # the catch-up template ({utc}, {utcend}), when on


@dataclass(frozen=True, slots=True)
class GuideMedia:
    """What the guide shows about a media item."""

    title: str
    kind: str  # MediaKind value: movie, episode, music_video, other
    show: str | None = None
    season: int | None = None  # one-based, as on screen
    episode: int | None = None
    year: int | None = None
    plot: str | None = None
    genres: tuple[str, ...] = ()
    content_rating: str | None = None
    poster_url: str | None = None


@dataclass(frozen=True, slots=True)
class Programme:
    """One guide entry. ``title`` is the show (for episodes) or the item's title;
    ``sub_title`` the episode title. ``season``/``episode`` are one-based."""

    channel_id: str
    start_ms: int
    stop_ms: int
    title: str
    kind: ProgrammeKind = ProgrammeKind.CONTENT
    sub_title: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()
    year: int | None = None
    season: int | None = None
    episode: int | None = None
    episodic: bool = False
    icon_url: str | None = None
    previously_shown: bool = False
    rating: str | None = None


@dataclass(frozen=True, slots=True)
class GuidePolicy:
    """How playout entries fold into programmes.

    A gap (fallback filler or offline time between programmes) shorter than
    ``fold_gaps_shorter_than_ms`` extends the programme before it (0, the default: never);
    any other is shown as its own programme titled ``offline_title`` (or ``filler_title``
    when it is filler). A programme's pre-roll is listed at the end of what comes before
    it, so the programme starts with its own first frame, unless
    ``pre_roll_starts_programme``.
    """

    fold_gaps_shorter_than_ms: int = 0
    offline_title: str = "Offline"
    filler_title: str = "Filler"
    pre_roll_starts_programme: bool = False


HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class GuideWindow:
    """The span a guide lists, ``[start_ms, end_ms)`` in UTC milliseconds: programmes
    overlapping it are listed whole."""

    start_ms: int
    end_ms: int

    @classmethod
    def at(cls, now_ms: int, hours: int, past_hours: int = 1) -> GuideWindow:
        """From ``past_hours`` (at least one) before the start of this hour to ``hours``
        after it.

        It moves once an hour, so what is made for it serves the whole hour; it always
        covers at least the last ``past_hours`` and ``hours - 1`` ahead. Catch-up lists
        more of the past, so that IPTV apps offer its programmes.
        """
        hour = now_ms - now_ms % HOUR_MS
        return cls(hour - max(1, past_hours) * HOUR_MS, hour + hours * HOUR_MS)
