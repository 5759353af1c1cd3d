"""Playout rows in the database: windows, lookups at an instant, group ends, replacement
and trimming (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from exstreamtv.domain.playout import (
    BuildWarning,
    EntryKind,
    PlayoutEntry,
    Timeline,
    from_ms,
    to_ms,
)
from exstreamtv.scheduling.state import BuildState, EnumeratorState
from exstreamtv.services.container import Container
from exstreamtv.store.database import transaction
from exstreamtv.store.playouts import PlayoutRepository
from tests.seeding import MIN, T0, add_channel, add_show

START = to_ms(T0)


def programmes(
    count: int, first_group: int = 0, start_ms: int = START, media: int | None = None
) -> tuple[list[PlayoutEntry], list[BuildState | None]]:
    """``count`` groups of a 2-minute programme of ``media`` and a 1-minute tail; cursors
    on the tails."""
    entries: list[PlayoutEntry] = []
    cursors: list[BuildState | None] = []
    at = start_ms
    for group in range(first_group, first_group + count):
        for kind, length in ((EntryKind.CONTENT, 2 * MIN), (EntryKind.TAIL, MIN)):
            media_id = None if kind is EntryKind.TAIL else media
            entries.append(
                PlayoutEntry(at, at + length, kind, media_id, 0, length, group, "T", "item:0")
            )
            at += length
        cursors += [
            None,
            BuildState(next_ms=at, guide_group=group + 1,
                       enumerators=(("k", EnumeratorState(seed=5, index=group)),)),
        ]  # fmt: skip
    return entries, cursors


async def test_entries_lookups_and_group_ends_agree_with_the_timeline(
    container: Container,
) -> None:
    channel = await add_channel(container, "3")
    (media,) = await add_show(container, "S", [2])
    entries, cursors = programmes(40, media=media)
    async with transaction(container.sessions) as session:
        assert await PlayoutRepository(session).replace_from(channel.id, T0, entries, cursors) == 0
    timeline = Timeline(entries)
    async with container.sessions() as session:
        repo = PlayoutRepository(session)
        for offset_ms in (-1, 0, 1, 2 * MIN - 1, 2 * MIN, 3 * MIN + 7, 120 * MIN - 1, 120 * MIN):
            found = await repo.entry_at(channel.id, from_ms(START + offset_ms))
            expected = timeline.at_ms(START + offset_ms)
            assert (found.entry if found else None) == (expected.entry if expected else None)
        window = await repo.entries(
            channel.id, T0 + timedelta(minutes=4), T0 + timedelta(minutes=9)
        )
        assert [e.entry for e in window] == entries[2:6]  # 03:00-06:00 airs at 04:00
        assert window[0].media is not None and window[0].media.show == "S"
        assert window[1].media is None
        end = await repo.group_end(channel.id, 7)
        assert end is not None and end.entry == entries[15]
        assert end.cursor == cursors[15]
        last = await repo.last_entry(channel.id)
        assert last is not None and last.entry == entries[-1]
        assert await repo.last_cursor(channel.id) == cursors[-1]


async def test_replace_from_keeps_earlier_entries_and_inserts_in_chunks(
    container: Container,
) -> None:
    channel = await add_channel(container, "4")
    first, first_cursors = programmes(10)
    boundary = first[8].start_ms  # start of group 4
    later, later_cursors = programmes(3000, first_group=4, start_ms=boundary)
    async with transaction(container.sessions) as session:
        repo = PlayoutRepository(session)
        await repo.replace_from(channel.id, T0, first, first_cursors)
        removed = await repo.replace_from(channel.id, from_ms(boundary), later, later_cursors)
    assert removed == 12
    async with container.sessions() as session:
        stored = await PlayoutRepository(session).entries(channel.id, T0, T0 + timedelta(days=30))
    assert [s.entry for s in stored] == first[:8] + later
    assert all(a.entry.finish_ms == b.entry.start_ms for a, b in pairwise(stored))


async def test_trim_drops_only_finished_entries_and_info_describes_the_rest(
    container: Container,
) -> None:
    channel = await add_channel(container, "5")
    entries, cursors = programmes(4)
    warning = BuildWarning("empty_collection", "collection 3 has no media")
    async with transaction(container.sessions) as session:
        repo = PlayoutRepository(session)
        await repo.replace_from(channel.id, T0, entries, cursors)
        trimmed = await repo.trim_before(channel.id, T0 + timedelta(minutes=4))
        await repo.record_build(channel.id, None, "continue", T0, [warning])
    assert trimmed == 2  # the first group ends at 03:00; the programme airing at 04:00 stays
    async with container.sessions() as session:
        info = await PlayoutRepository(session).playout_info(channel.id)
    assert info.entry_count == 6
    assert (info.first_start, info.last_finish) == (entries[2].start, entries[-1].finish)
    assert (info.last_build_at, info.last_mode, info.warnings) == (T0, "continue", (warning,))
