"""The JSON form of schedules and filler presets (stored in ``body`` columns, and the shape
of the API's schedule bodies).

Conventions: local times are ``"HH:MM"`` (``"HH:MM:SS"`` when seconds are set), weekdays
are sorted lists of 0-6 (0 = Monday), enums are their values, tuples are lists. Decoding
fills defaults for absent keys, so older bodies stay readable; it raises ``KeyError``,
``ValueError`` or ``TypeError`` for a body that is not a schedule at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

from exstreamtv.domain.schedules import (
    Block,
    BlockEntry,
    BlockPlacement,
    BlockTemplate,
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    Lateness,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    TailMode,
    TimeSlot,
    WeightedCollection,
)

Json = dict[str, Any]
_FILLER_KINDS = ("pre_roll", "mid_roll", "post_roll", "tail", "fallback")


def time_to_json(value: time) -> str:
    """``"HH:MM"``, or ``"HH:MM:SS"`` when the seconds are not zero."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def time_from_json(text: str) -> time:
    """Parse ``"HH:MM"`` or ``"HH:MM:SS"``; raises ``ValueError`` otherwise."""
    parts = [int(part) for part in text.split(":")]
    if len(parts) not in (2, 3):
        raise ValueError(f"{text!r} is not HH:MM or HH:MM:SS")
    return time(parts[0], parts[1], parts[2] if len(parts) == 3 else 0)


def schedule_body(schedule: Schedule) -> Json:
    """What goes in ``schedules.body``: items, slots, blocks, templates and fallback."""
    return {
        "items": [_item_to_json(item) for item in schedule.items],
        "slots": [_slot_to_json(slot) for slot in schedule.slots],
        "blocks": [_block_to_json(block) for block in schedule.blocks],
        "templates": [_template_to_json(t) for t in schedule.templates],
        "fallback": schedule.fallback,
    }


def schedule_to_json(schedule: Schedule) -> Json:
    """The whole schedule, ``id`` included."""
    head = {
        "id": schedule.id,
        "name": schedule.name,
        "kind": schedule.kind.value,
        "timezone": schedule.timezone,
        "seed": schedule.seed,
    }
    return {**head, **schedule_body(schedule)}


def schedule_from_json(data: Mapping[str, Any]) -> Schedule:
    """The inverse of :func:`schedule_to_json` (``id`` 0 and ``seed`` 0 when absent)."""
    return Schedule(
        id=int(data.get("id") or 0),
        name=str(data["name"]),
        kind=ScheduleKind(data["kind"]),
        timezone=str(data.get("timezone", "UTC")),
        items=tuple(_item_from_json(i) for i in data.get("items", ())),
        slots=tuple(_slot_from_json(s) for s in data.get("slots", ())),
        blocks=tuple(_block_from_json(b) for b in data.get("blocks", ())),
        templates=tuple(_template_from_json(t) for t in data.get("templates", ())),
        fallback=_optional_int(data.get("fallback")),
        seed=int(data.get("seed") or 0),
    )


def preset_body(preset: FillerPreset) -> Json:
    """What goes in ``filler_presets.body``: everything but id, name and kind."""
    return {
        "collections": [
            {"collection_id": c.collection_id, "weight": c.weight} for c in preset.collections
        ],
        "cooldown_minutes": preset.cooldown_minutes,
        "count": preset.count,
        "mid_roll_every_minutes": preset.mid_roll_every_minutes,
        "tail_boundary_minutes": preset.tail_boundary_minutes,
        "tail_fixed_seconds": preset.tail_fixed_seconds,
        "cut_to_fit": preset.cut_to_fit,
    }


def preset_to_json(preset: FillerPreset) -> Json:
    return {"id": preset.id, "name": preset.name, "kind": preset.kind.value, **preset_body(preset)}


def preset_from_json(data: Mapping[str, Any]) -> FillerPreset:
    """The inverse of :func:`preset_to_json` (``id`` 0 when absent)."""
    return FillerPreset(
        id=int(data.get("id") or 0),
        name=str(data["name"]),
        kind=FillerKind(data["kind"]),
        collections=tuple(
            WeightedCollection(int(c["collection_id"]), int(c.get("weight", 1)))
            for c in data.get("collections", ())
        ),
        cooldown_minutes=int(data.get("cooldown_minutes", 0)),
        count=int(data.get("count", 1)),
        mid_roll_every_minutes=_optional_int(data.get("mid_roll_every_minutes")),
        tail_boundary_minutes=_optional_int(data.get("tail_boundary_minutes", 30)),
        tail_fixed_seconds=_optional_int(data.get("tail_fixed_seconds")),
        cut_to_fit=bool(data.get("cut_to_fit", True)),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_time(value: Any) -> time | None:
    return None if value is None else time_from_json(str(value))


def _source_to_json(source: ContentSource) -> Json:
    return {"collection_ids": list(source.collection_ids), "order": source.order.value}


def _source_from_json(data: Mapping[str, Any]) -> ContentSource:
    return ContentSource(
        collection_ids=tuple(int(i) for i in data["collection_ids"]),
        order=PlaybackOrder(data.get("order", PlaybackOrder.SEASON_EPISODE.value)),
    )


def _filler_to_json(filler: FillerSet) -> Json:
    return {kind: getattr(filler, kind) for kind in _FILLER_KINDS}


def _filler_from_json(data: Mapping[str, Any] | None) -> FillerSet:
    data = data or {}
    return FillerSet(**{kind: _optional_int(data.get(kind)) for kind in _FILLER_KINDS})


def _item_to_json(item: ScheduleItem) -> Json:
    return {
        "source": _source_to_json(item.source),
        "mode": item.mode.value,
        "count": item.count,
        "duration_minutes": item.duration_minutes,
        "tail_mode": item.tail_mode.value,
        "fixed_start": None if item.fixed_start is None else time_to_json(item.fixed_start),
        "lateness": item.lateness.value,
        "guide_title": item.guide_title,
        "filler": _filler_to_json(item.filler),
    }


def _item_from_json(data: Mapping[str, Any]) -> ScheduleItem:
    return ScheduleItem(
        source=_source_from_json(data["source"]),
        mode=PlayMode(data.get("mode", PlayMode.ONE.value)),
        count=int(data.get("count", 1)),
        duration_minutes=_optional_int(data.get("duration_minutes")),
        tail_mode=TailMode(data.get("tail_mode", TailMode.TRIM.value)),
        fixed_start=_optional_time(data.get("fixed_start")),
        lateness=Lateness(data.get("lateness", Lateness.START_LATE.value)),
        guide_title=data.get("guide_title"),
        filler=_filler_from_json(data.get("filler")),
    )


def _slot_to_json(slot: TimeSlot) -> Json:
    return {
        "start": time_to_json(slot.start),
        "source": _source_to_json(slot.source),
        "weekdays": sorted(slot.weekdays),
        "mode": slot.mode.value,
        "count": slot.count,
        "lateness": slot.lateness.value,
        "guide_title": slot.guide_title,
        "filler": _filler_to_json(slot.filler),
    }


def _slot_from_json(data: Mapping[str, Any]) -> TimeSlot:
    return TimeSlot(
        start=time_from_json(str(data["start"])),
        source=_source_from_json(data["source"]),
        weekdays=frozenset(int(d) for d in data.get("weekdays", ())),
        mode=PlayMode(data.get("mode", PlayMode.FLOOD.value)),
        count=int(data.get("count", 1)),
        lateness=Lateness(data.get("lateness", Lateness.START_LATE.value)),
        guide_title=data.get("guide_title"),
        filler=_filler_from_json(data.get("filler")),
    )


def _block_to_json(block: Block) -> Json:
    return {
        "key": block.key,
        "name": block.name,
        "minutes": block.minutes,
        "entries": [{"source": _source_to_json(e.source), "count": e.count} for e in block.entries],
        "filler": _filler_to_json(block.filler),
    }


def _block_from_json(data: Mapping[str, Any]) -> Block:
    return Block(
        key=str(data["key"]),
        name=str(data.get("name", data["key"])),
        minutes=int(data["minutes"]),
        entries=tuple(
            BlockEntry(_source_from_json(e["source"]), int(e.get("count", 1)))
            for e in data.get("entries", ())
        ),
        filler=_filler_from_json(data.get("filler")),
    )


def _template_to_json(template: BlockTemplate) -> Json:
    return {
        "placements": [
            {"start": time_to_json(p.start), "block_key": p.block_key} for p in template.placements
        ],
        "weekdays": sorted(template.weekdays),
    }


def _template_from_json(data: Mapping[str, Any]) -> BlockTemplate:
    return BlockTemplate(
        placements=tuple(
            BlockPlacement(time_from_json(str(p["start"])), str(p["block_key"]))
            for p in data.get("placements", ())
        ),
        weekdays=frozenset(int(d) for d in data.get("weekdays", ())),
    )
