"""Collections on SQLite and PostgreSQL: the automatic ones that scans keep, smart queries
run by the database (full text, ranges, dates, states) and multi-collections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from exstreamtv.domain.collections import Collection, CollectionKind, SmartQuery
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    FileStamp,
    MediaKind,
    MediaMetadata,
    MediaState,
    ScannedFile,
    TechnicalInfo,
)
from exstreamtv.errors import Conflict, InvalidInput
from exstreamtv.services.container import Container
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.media_search import Field, text_match
from exstreamtv.store.tables import MediaItemRow

Place = Callable[[Path, float], Path]


async def automatic(container: Container) -> dict[str, Collection]:
    return {c.name: c for c in await container.catalog.collections() if c.automatic}


async def titles(container: Container, query: SmartQuery) -> list[str]:
    """The titles a query matches, sorted."""
    items, _ = await container.catalog.preview(query, 0, 100)
    return sorted(item.metadata.title for item in items)


@pytest.fixture
def shows(tmp_path: Path, place_clip: Place) -> Path:
    root = tmp_path / "tv"
    place_clip(root / "Show" / "Season 01" / "Show - S01E01 - Pilot.mp4", 1.0)
    place_clip(root / "Show" / "Season 02" / "Show - S02E01 - Return.mp4", 1.0)
    place_clip(root / "Show" / "Specials" / "Show - S00E01 - Extra.mp4", 1.0)
    place_clip(root / "Other Show" / "Season 01" / "Other Show - S01E01 - Start.mp4", 1.0)
    place_clip(root / "Big Movie (2020)" / "Big Movie (2020).mp4", 1.0)
    return root


async def test_a_scan_keeps_one_automatic_collection_per_library_show_and_season(
    container: Container, shows: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(shows)])
    await container.libraries.scan(library.id)
    found = await automatic(container)
    assert sorted(found) == [
        "Other Show", "Other Show · Season 1", "Show", "Show · Season 1", "Show · Season 2",
        "Show · Specials", "TV (library)",
    ]  # fmt: skip
    assert found["TV (library)"].library_id == library.id
    assert len(await container.catalog.collection_items(found["TV (library)"].id)) == 5
    specials = await container.catalog.collection_items(found["Show · Specials"].id)
    assert [i.metadata.title for i in specials] == ["Extra"]
    show = await container.catalog.collection_items(found["Show"].id)
    assert [i.metadata.title for i in show] == ["Extra", "Pilot", "Return"]

    (shows / "Other Show").rename(shows.parent / "gone")  # its episode goes missing: kept
    await container.libraries.scan(library.id)
    assert "Other Show" in await automatic(container)
    assert await container.catalog.collection_items(found["Other Show"].id) == []

    await container.libraries.update(library.id, "Series", LibraryKind.MIXED, [str(shows)])
    await container.libraries.scan(library.id)
    renamed = await automatic(container)
    assert renamed["Series (library)"].id == found["TV (library)"].id

    await container.libraries.delete(library.id)
    assert await automatic(container) == {}


async def test_automatic_collections_cannot_be_edited_or_deleted_by_hand(
    container: Container, shows: Path
) -> None:
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(shows)])
    await container.libraries.scan(library.id)
    show = (await automatic(container))["Show"]
    with pytest.raises(Conflict, match="kept in sync"):
        await container.catalog.update_collection(
            show.id, Collection(0, "Mine", CollectionKind.MANUAL)
        )
    with pytest.raises(Conflict, match="kept in sync"):
        await container.catalog.delete_collection(show.id)


async def test_an_automatic_collection_takes_a_free_name_beside_a_hand_made_one(
    container: Container, shows: Path
) -> None:
    mine = await container.catalog.create_collection(Collection(0, "Show", CollectionKind.MANUAL))
    library = await container.libraries.create("TV", LibraryKind.MIXED, [str(shows)])
    await container.libraries.scan(library.id)
    found = await automatic(container)
    assert found["Show (show)"].show == "Show"
    assert (await container.catalog.collection(mine.id)).automatic is False
    await container.libraries.scan(library.id)  # stable: nothing renamed or doubled
    assert sorted(await automatic(container)) == sorted(found)


# --- smart queries --------------------------------------------------------------------------

NOW = datetime.now(UTC)


async def seed(container: Container) -> int:
    """Five items with plots, genres, durations and ages; returns the library id."""
    rows = [
        ("Dragon Tales", MediaKind.EPISODE, "Dragons", "Fire and scales", ("Drama",), 30, 0),
        ("Café Society", MediaKind.MOVIE, None, "Jazz age drama", ("Comedy",), 96, 40),
        ("Tale of Two", MediaKind.MOVIE, None, 'A "quoted" 100% tale', ("Drama",), 120, 10),
        ("Short", MediaKind.OTHER, None, None, (), 1, 2),
        ("Ghost", MediaKind.MOVIE, None, "Gone; DROP TABLE media_items", ("Horror",), 90, 5),
    ]
    async with transaction(container.sessions) as session:
        library = await LibraryRepository(session).create_local(
            "Lib", LibraryKind.MIXED, ["/m"], NOW
        )
        media = MediaRepository(session)
        for title, kind, show, plot, genres, minutes, days in rows:
            meta = MediaMetadata(
                kind, title, show=show, season=1 if show else None, plot=plot, genres=genres
            )
            scanned = ScannedFile(
                f"/m/{title}.mkv", FileStamp(1, 1), meta, TechnicalInfo(minutes * 60_000)
            )
            await media.save_scanned(library.id, [scanned], {}, NOW - timedelta(days=days))
        ghost = await media.known_files(library.id)
        await media.mark_missing([ghost["/m/Ghost.mkv"].id], NOW)
    return library.id


async def test_full_text_matches_word_prefixes_in_any_field_and_title_only_in_titles(
    container: Container,
) -> None:
    await seed(container)
    assert await titles(container, SmartQuery(text="dra")) == [
        "Café Society",
        "Dragon Tales",
        "Tale of Two",
    ]
    assert await titles(container, SmartQuery(text="drama TAL")) == ["Dragon Tales", "Tale of Two"]
    assert await titles(container, SmartQuery(title="tale")) == ["Dragon Tales", "Tale of Two"]
    assert await titles(container, SmartQuery(title="fire")) == []  # only in a plot
    assert await titles(container, SmartQuery(text="dragons", kinds=(MediaKind.EPISODE,))) == [
        "Dragon Tales"
    ]


HOSTILE = (
    '"',
    "*",
    "title:",
    "NEAR(a b)",
    "OR",
    "-",
    "'; DROP TABLE media_items; --",
    "%_\\",
    "🎬",
    "x" * 200,
    "a:* & b",
    "\x00",
    "é" * 70,
)


async def test_hostile_search_text_never_breaks_the_query(container: Container) -> None:
    await seed(container)
    for needle in HOSTILE:
        await titles(container, SmartQuery(text=needle))
        await titles(container, SmartQuery(title=needle))
    assert len(await titles(container, SmartQuery())) == 4  # the table is intact


async def test_search_text_is_taken_word_by_word_not_as_syntax(container: Container) -> None:
    await seed(container)
    assert await titles(container, SmartQuery(text='"quoted" 100%')) == ["Tale of Two"]
    assert await titles(container, SmartQuery(text="drop table")) == []  # Ghost is missing
    assert await titles(container, SmartQuery(text="!!!")) == []  # no words: nothing


async def test_ranges_dates_and_states_filter_in_the_database(container: Container) -> None:
    library_id = await seed(container)
    by_length = SmartQuery(duration_min_sec=30 * 60, duration_max_sec=96 * 60)
    assert await titles(container, by_length) == ["Café Society", "Dragon Tales"]
    assert await titles(container, SmartQuery(added_within_days=7)) == ["Dragon Tales", "Short"]
    today = NOW.date()
    window = SmartQuery(
        added_after=today - timedelta(days=41), added_before=today - timedelta(days=10)
    )
    assert await titles(container, window) == ["Café Society", "Tale of Two"]
    assert await titles(container, SmartQuery(added_after=date(2999, 1, 1))) == []
    missing = SmartQuery(states=(MediaState.MISSING,), library_ids=(library_id,))
    assert await titles(container, missing) == ["Ghost"]
    _, summary = await container.catalog.preview(SmartQuery(kinds=(MediaKind.MOVIE,)), 0, 1)
    assert (summary.count, summary.duration_ms) == (2, (96 + 120) * 60_000)


async def test_a_smart_collection_of_missing_files_lists_them_but_airs_nothing(
    container: Container,
) -> None:
    await seed(container)
    gone = Collection(
        0, "Gone", CollectionKind.SMART, query=SmartQuery(states=(MediaState.MISSING,))
    )
    created = await container.catalog.create_collection(gone)
    assert await container.catalog.collection_items(created.id) == []
    summary = await container.catalog.collection_summary(created.id)
    assert (summary.count, summary.duration_ms) == (0, 0)


async def test_the_search_index_follows_edits_and_deletes(container: Container) -> None:
    library_id = await seed(container)
    async with transaction(container.sessions) as session:
        media = MediaRepository(session)
        known = await media.known_files(library_id)
        meta = MediaMetadata(MediaKind.MOVIE, "Renamed Picture", genres=("Western",))
        scanned = ScannedFile("/m/Short.mkv", FileStamp(2, 2), meta, TechnicalInfo(60_000))
        await media.save_scanned(library_id, [scanned], known, NOW)
    assert await titles(container, SmartQuery(title="short")) == []
    assert await titles(container, SmartQuery(text="western")) == ["Renamed Picture"]
    await container.libraries.delete(library_id)
    assert await titles(container, SmartQuery(text="western")) == []


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_answers_text_searches_from_the_gin_indexes(container: Container) -> None:
    await seed(container)
    async with container.sessions() as session:
        await session.execute(text("SET enable_seqscan = off"))
        for field, index in (
            (Field.ANY, "ix_media_items_search"),
            (Field.TITLE, "ix_media_items_title_search"),
        ):
            stmt = select(MediaItemRow.id).where(text_match("dra", field))
            sql = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))
            assert index in plan, plan


# --- multi-collections ----------------------------------------------------------------------


async def manual(container: Container, name: str, ids: Sequence[int]) -> Collection:
    return await container.catalog.create_collection(
        Collection(0, name, CollectionKind.MANUAL, item_ids=tuple(ids))
    )


async def test_a_multi_collection_holds_its_members_items_once_in_member_order(
    container: Container,
) -> None:
    await seed(container)
    items, _ = await container.catalog.preview(SmartQuery(), 0, 10)
    a, b, c, d = (item.id for item in items)
    first = await manual(container, "First", [c, a])
    second = await manual(container, "Second", [a, d, b])
    multi = await container.catalog.create_collection(
        Collection(0, "Both", CollectionKind.MULTI, member_ids=(first.id, second.id))
    )
    assert [i.id for i in await container.catalog.collection_items(multi.id)] == [c, a, d, b]
    await container.catalog.delete_collection(first.id)
    assert (await container.catalog.collection(multi.id)).member_ids == (second.id,)


async def test_a_multi_collection_refuses_bad_members(container: Container) -> None:
    one = await manual(container, "One", [])
    inner = await container.catalog.create_collection(
        Collection(0, "Inner", CollectionKind.MULTI, member_ids=(one.id,))
    )
    outer = await container.catalog.create_collection(
        Collection(0, "Outer", CollectionKind.MULTI, member_ids=(one.id,))
    )
    for members, message in (
        ((outer.id,), "itself"), ((inner.id,), "multi-collection"), ((99_999,), "does not exist"),
        ((one.id, one.id), "twice"),
    ):  # fmt: skip
        with pytest.raises(InvalidInput, match=message):
            await container.catalog.update_collection(
                outer.id, Collection(0, "Outer", CollectionKind.MULTI, member_ids=members)
            )
