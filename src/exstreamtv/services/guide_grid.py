"""The guide grid of the web UI: a window of time for some channel rows at a time.

The grid reads only the playout rows of the channels and time it shows (guide groups cut
by the window's edges are completed, so programmes keep their true start and stop) and
folds them exactly as XMLTV does (``formats.guide_folding``, and a relayed live channel's
own listings through ``formats.live_guide``), so the grid, the XMLTV guide and the stream
agree. Runs of programmes too short to be read on screen are merged into
one "short items" cell; asking for that cell's own window with no merging lists them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.guide import GuideChannel, GuideMedia, Programme, ProgrammeKind
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.playout import PlayoutEntry, to_ms
from exstreamtv.errors import InvalidInput
from exstreamtv.formats.guide_folding import guide_entry, programmes_from_entries
from exstreamtv.formats.live_guide import with_listings
from exstreamtv.services.guide import GuideLinks, GuideService
from exstreamtv.store.listings import ListingRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

MAX_WINDOW = timedelta(hours=48)
MAX_PAST = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class GridCell:
    """One cell of a channel's row: a programme, or (``count`` > 1, ``programme`` the
    first of them) a run of ``count`` short programmes from ``start_ms`` to ``stop_ms``."""

    channel_id: str
    start_ms: int
    stop_ms: int
    programme: Programme
    count: int = 1


@dataclass(frozen=True, slots=True)
class GridWindow:
    """``lineup``: every enabled channel (for the row headers); ``rows``: the channels whose
    ``cells`` were read, in lineup order."""

    lineup: list[GuideChannel]
    rows: list[GuideChannel]
    cells: list[GridCell]


MAX_RUN_MS = 30 * 60_000


def merge_short(
    programmes: Sequence[Programme], shorter_than_ms: int, longest_ms: int = MAX_RUN_MS
) -> list[GridCell]:
    """The cells of one channel's programmes (ordered, contiguous): two or more programmes
    in a row, each shorter than ``shorter_than_ms``, become one cell (a run reaching
    ``longest_ms`` closes, so an hour of clips is two cells one can open, not one); every
    other programme is a cell of its own. ``shorter_than_ms`` 0 merges nothing."""
    cells: list[GridCell] = []
    run: list[Programme] = []

    def close() -> None:
        if len(run) > 1:
            cells.append(
                GridCell(run[0].channel_id, run[0].start_ms, run[-1].stop_ms, run[0], len(run))
            )
        elif run:
            cells.append(_cell(run[0]))
        run.clear()

    for programme in programmes:
        if programme.stop_ms - programme.start_ms < shorter_than_ms:
            run.append(programme)
            if run[-1].stop_ms - run[0].start_ms >= longest_ms:
                close()
            continue
        close()
        cells.append(_cell(programme))
    close()
    return cells


def _cell(programme: Programme) -> GridCell:
    return GridCell(programme.channel_id, programme.start_ms, programme.stop_ms, programme)


class GuideGrid:
    """Windows of the guide for the web UI (see the module docstring)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, guide: GuideService
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._guide = guide

    async def window(
        self,
        links: GuideLinks,
        start: datetime,
        end: datetime,
        *,
        offset: int = 0,
        limit: int | None = None,
        channel: str | None = None,
        short_under_ms: int = 0,
    ) -> GridWindow:
        """Cells overlapping ``[start, end)`` (aware datetimes) of the lineup's rows
        ``offset`` to ``offset + limit``, or of the one row whose XMLTV id is ``channel``.

        Raises :class:`InvalidInput` for an empty window, one longer than 48 hours, or one
        starting more than 7 days ago.
        """
        self._check(start, end)
        pairs = await self._guide.enabled_lineup(links)
        if channel is not None:
            chosen = [(c, g) for c, g in pairs if g.id == channel]
        else:
            chosen = pairs[offset : None if limit is None else offset + limit]
        start_ms, end_ms = to_ms(start), to_ms(end)
        # Read from a fold threshold earlier, so a short gap at the left edge folds into the
        # programme before it exactly as in XMLTV.
        read_from = start - timedelta(milliseconds=self._guide.policy.fold_gaps_shorter_than_ms)
        async with self._sessions() as session:
            entries = await PlayoutRepository(session).window_entries(
                [c.id for c, _ in chosen], read_from, end
            )
            wanted = sorted(
                {e.media_id for es in entries.values() for e in es if e.media_id is not None}
            )
            media = await MediaRepository(session).guide_media(wanted)
            listings = await ListingRepository(session).live(media, read_from, end)
        rows = [(guide, entries.get(channel_row.id, [])) for channel_row, guide in chosen]
        window = (start_ms, end_ms, short_under_ms)
        cells = await asyncio.to_thread(self._fold, rows, media, window, listings)
        return GridWindow([g for _, g in pairs], [g for _, g in chosen], cells)

    def _fold(
        self,
        rows: list[tuple[GuideChannel, list[PlayoutEntry]]],
        media: dict[int, GuideMedia],
        window: tuple[int, int, int],
        listings: Mapping[int, Sequence[Listing]],
    ) -> list[GridCell]:
        start_ms, end_ms, short_under_ms = window
        policy = self._guide.policy
        cells: list[GridCell] = []
        for guide, entries in rows:
            folded = programmes_from_entries(guide.id, entries, media, policy)
            if listings:  # a relayed live channel shows its source's own guide
                folded = with_listings(folded, [guide_entry(e) for e in entries], listings)
            shown = [p for p in folded if p.stop_ms > start_ms and p.start_ms < end_ms]
            if not shown:
                offline = Programme(
                    guide.id, start_ms, end_ms, policy.offline_title, kind=ProgrammeKind.OFFLINE
                )
                shown = [offline]
            cells.extend(merge_short(shown, short_under_ms))
        return cells

    def _check(self, start: datetime, end: datetime) -> None:
        if end <= start:
            raise InvalidInput("end: must be after start")
        if end - start > MAX_WINDOW:
            raise InvalidInput("end: a guide window is at most 48 hours")
        if start < self._clock.now() - MAX_PAST:
            raise InvalidInput("start: the guide goes back at most 7 days")
