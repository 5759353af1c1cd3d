"""What a playout build reads: a schedule's references, and the data loaded for them.

References are reported with the dotted path of the field that holds them
(``items.0.source.collection_ids.1``, ``slots.3.filler.tail``, ``fallback``), so that a
validation error can name the field.

Only present media is loaded. Missing media (a file gone from its folder or its server,
or one the stream could not open) is left out of the build and named, with the reason, in
its warnings (:func:`missing_warnings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.media import MediaItem
from exstreamtv.domain.playout import BuildWarning, Playable
from exstreamtv.domain.schedules import ContentSource, FillerPreset, FillerSet, Schedule
from exstreamtv.errors import NotFound
from exstreamtv.scheduling.engine import BuildInputs
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.schedules import FillerPresetRepository

Reference = tuple[str, int]
FILLER_KINDS = ("pre_roll", "mid_roll", "post_roll", "tail", "fallback")
MISSING_LISTED = 10
"""Missing files named per build; more are counted, not listed."""


def collection_refs(schedule: Schedule) -> list[Reference]:
    """Every collection id the schedule's content sources name, with its field path."""
    return [
        (f"{where}.collection_ids.{n}", collection_id)
        for where, source in _sources(schedule)
        for n, collection_id in enumerate(source.collection_ids)
    ]


def preset_refs(schedule: Schedule) -> list[Reference]:
    """Every filler preset id the schedule names (fallback included), with its field path."""
    refs = [] if schedule.fallback is None else [("fallback", schedule.fallback)]
    for where, filler in _filler_sets(schedule):
        for kind in FILLER_KINDS:
            preset_id = getattr(filler, kind)
            if preset_id is not None:
                refs.append((f"{where}.filler.{kind}", preset_id))
    return refs


def preset_collection_refs(preset: FillerPreset) -> list[Reference]:
    """The collection ids a filler preset draws from, with their field paths."""
    return [
        (f"collections.{n}.collection_id", c.collection_id)
        for n, c in enumerate(preset.collections)
    ]


def playable(item: MediaItem) -> Playable:
    """What the engine needs of a media item (chapter starts for mid-roll breaks)."""
    meta = item.metadata
    chapters = item.technical.chapters if item.technical else ()
    return Playable(
        id=item.id,
        duration_ms=item.duration_ms,
        title=meta.title,
        show=meta.show,
        season=meta.season,
        episode=meta.episode,
        year=meta.year,
        chapters_ms=tuple(chapter.start_ms for chapter in chapters),
    )


async def load_inputs(session: AsyncSession, schedule: Schedule) -> BuildInputs:
    """The schedule with its presets and the present media of every collection that its
    sources and presets name. Deleted presets and collections are left out: the engine
    turns them into fallback or offline time with a warning."""
    presets = await FillerPresetRepository(session).by_ids(
        {preset_id for _, preset_id in preset_refs(schedule)}
    )
    wanted = {cid for _, cid in collection_refs(schedule)}
    for preset in presets.values():
        wanted.update(cid for _, cid in preset_collection_refs(preset))
    collections = await load_collections(session, wanted)
    return BuildInputs(schedule=schedule, collections=collections, presets=presets)


async def missing_warnings(session: AsyncSession, inputs: BuildInputs) -> list[BuildWarning]:
    """A ``missing_media`` warning for each missing file the build's collections hold (the
    first :data:`MISSING_LISTED`, each once), naming it and why it is missing, and one
    counting the rest (an item in two collections may be counted twice there)."""
    wanted = {cid for _, cid in collection_refs(inputs.schedule)}
    for preset in inputs.presets.values():
        wanted.update(cid for _, cid in preset_collection_refs(preset))
    repo = CollectionRepository(session)
    named: dict[int, MediaItem] = {}
    unlisted: set[int] = set()
    beyond = 0
    for collection_id in sorted(wanted & set(inputs.collections)):
        found, total = await repo.missing_items(await repo.get(collection_id), MISSING_LISTED)
        beyond += total - len(found)
        for item in found:
            if item.id not in named and len(named) < MISSING_LISTED:
                named[item.id] = item
            elif item.id not in named:
                unlisted.add(item.id)
    warnings = [BuildWarning("missing_media", _missing(item)) for item in named.values()]
    if beyond or unlisted:
        more = beyond + len(unlisted)
        warnings.append(BuildWarning("missing_media", f"and up to {more} more missing file(s)"))
    return warnings


def _missing(item: MediaItem) -> str:
    since = f" since {item.missing_since:%Y-%m-%d %H:%M} UTC" if item.missing_since else ""
    reason = item.missing_reason or "not found"
    return f"{item.path} is missing{since} ({reason}); it is left out of the playout"


async def load_collections(
    session: AsyncSession, collection_ids: Iterable[int]
) -> dict[int, Sequence[Playable]]:
    """Present media of each existing collection, in the collection's natural order."""
    repo = CollectionRepository(session)
    found: dict[int, Sequence[Playable]] = {}
    for collection_id in sorted(set(collection_ids)):
        try:
            collection = await repo.get(collection_id)
        except NotFound:
            continue
        found[collection_id] = [playable(item) for item in await repo.items(collection)]
    return found


def playables_by_id(collections: Mapping[int, Sequence[Playable]]) -> dict[int, Playable]:
    """Every loaded media item by id."""
    return {item.id: item for items in collections.values() for item in items}


def _sources(schedule: Schedule) -> Iterator[tuple[str, ContentSource]]:
    for n, item in enumerate(schedule.items):
        yield f"items.{n}.source", item.source
    for n, slot in enumerate(schedule.slots):
        yield f"slots.{n}.source", slot.source
    for n, block in enumerate(schedule.blocks):
        for m, entry in enumerate(block.entries):
            yield f"blocks.{n}.entries.{m}.source", entry.source


def _filler_sets(schedule: Schedule) -> Iterator[tuple[str, FillerSet]]:
    for n, item in enumerate(schedule.items):
        yield f"items.{n}", item.filler
    for n, slot in enumerate(schedule.slots):
        yield f"slots.{n}", slot.filler
    for n, block in enumerate(schedule.blocks):
        yield f"blocks.{n}", block.filler
