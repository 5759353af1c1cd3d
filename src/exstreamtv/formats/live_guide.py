"""A relayed live channel shown in our guide as what its source's guide says is on.

Pure. A folded programme whose content is one live item with listings becomes those
listings, clipped to the programme's span; stretches no listing covers keep the programme
itself. A listing that runs across two programmes (one relay block and the next) is shown
once. The output stays contiguous and ordered, like the programmes it replaces.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from exstreamtv.domain.guide import Programme, ProgrammeKind
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.playout import EntryKind
from exstreamtv.formats.guide_folding import GuideEntry


def with_listings(
    programmes: Sequence[Programme],
    entries: Sequence[GuideEntry],
    listings: Mapping[int, Sequence[Listing]],
) -> list[Programme]:
    """``programmes`` of one channel (folded from ``entries``, both ordered by start) with
    live items' listings in."""
    if not listings:
        return list(programmes)
    shown: list[tuple[Programme, Listing | None]] = []
    at = 0  # the first entry that may overlap the programme: both are in order
    for programme in programmes:
        while at < len(entries) and entries[at][1] <= programme.start_ms:
            at += 1
        live = _live_media(programme, entries, at, listings)
        if live is None:
            shown.append((programme, None))
            continue
        for piece in _pieces(programme, listings[live]):
            last = shown[-1] if shown else None
            if last is not None and piece[1] is not None and last[1] is piece[1]:
                shown[-1] = (replace(last[0], stop_ms=piece[0].stop_ms), piece[1])
            else:
                shown.append(piece)
    return [programme for programme, _ in shown]


def relayed(entries: Iterable[GuideEntry], listings: Mapping[int, object]) -> bool:
    """Whether ``entries`` play a live item that has listings (only then is there anything
    for :func:`with_listings` to do)."""
    return any(entry[3] in listings for entry in entries)


def _live_media(
    programme: Programme, entries: Sequence[GuideEntry], at: int, listings: Mapping[int, object]
) -> int | None:
    """The live item that is the programme's content, if it is one with listings
    (``entries[at:]`` are those that may overlap it)."""
    if programme.kind is not ProgrammeKind.CONTENT:
        return None
    content: set[int | None] = set()
    for entry in itertools.islice(entries, at, None):
        if entry[0] >= programme.stop_ms:
            break
        if entry[2] is EntryKind.CONTENT:
            content.add(entry[3])
    if len(content) != 1:
        return None
    (media,) = content
    return media if media is not None and media in listings else None


def _pieces(
    programme: Programme, listings: Sequence[Listing]
) -> list[tuple[Programme, Listing | None]]:
    pieces: list[tuple[Programme, Listing | None]] = []
    at = programme.start_ms
    for listing in listings:
        start, stop = max(listing.start_ms, at), min(listing.stop_ms, programme.stop_ms)
        if stop <= start:
            continue
        if start > at:
            pieces.append((replace(programme, start_ms=at, stop_ms=start), None))
        pieces.append(
            (
                Programme(
                    channel_id=programme.channel_id,
                    start_ms=start,
                    stop_ms=stop,
                    title=listing.title,
                    sub_title=listing.sub_title,
                    description=listing.description,
                    categories=listing.categories,
                    icon_url=programme.icon_url,
                ),
                listing,
            )
        )
        at = stop
    if at < programme.stop_ms:
        pieces.append((replace(programme, start_ms=at, stop_ms=programme.stop_ms), None))
    return pieces
