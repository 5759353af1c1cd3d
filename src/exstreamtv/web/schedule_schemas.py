"""Request and response bodies for schedules and filler presets.

The JSON shape is the stored one (``store/schedule_json``): local times are ``"HH:MM"`` or
``"HH:MM:SS"`` in the schedule's IANA ``timezone``, weekdays are 0-6 (0 = Monday; an empty
list means every day). Field-level problems (a bad weekday, block minutes 0, an unknown
time zone) are 422s naming the field; references to collections and presets are checked
by the service when saving.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from exstreamtv.domain.schedules import (
    FillerKind,
    FillerPreset,
    Lateness,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleKind,
    TailMode,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.scheduling.localtime import zone
from exstreamtv.store.schedule_json import (
    preset_from_json,
    preset_to_json,
    schedule_from_json,
    schedule_to_json,
)
from exstreamtv.web.schemas import Id, Input, Name, ShortText

LocalTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        examples=["06:30", "21:00:30"],
        description="A local wall-clock time, HH:MM or HH:MM:SS.",
    ),
]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday.")]
Count = Annotated[int, Field(ge=1, le=1000)]
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60)]
BlockKey = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_.-]+$")]


def _random_seed() -> int:
    return secrets.randbelow(2**31)


class ContentSourceIn(Input):
    """One or more collections played in ``order``: every order but ``rotate`` plays the
    union of the collections (``shuffle`` shuffles all their items together); ``rotate``
    takes one item from each collection in turn, each in season/episode order."""

    collection_ids: list[Id] = Field(min_length=1, max_length=50)
    order: PlaybackOrder = PlaybackOrder.SEASON_EPISODE


class FillerSetIn(Input):
    """Filler preset ids by kind; ``null`` means none of that kind."""

    pre_roll: Id | None = None
    mid_roll: Id | None = None
    post_roll: Id | None = None
    tail: Id | None = None
    fallback: Id | None = None


class ScheduleItemIn(Input):
    """An item of an ``items`` schedule. ``duration`` needs ``duration_minutes``."""

    source: ContentSourceIn
    mode: PlayMode = PlayMode.ONE
    count: Count = 1
    duration_minutes: Minutes | None = None
    tail_mode: TailMode = TailMode.TRIM
    fixed_start: LocalTime | None = None
    lateness: Lateness = Lateness.START_LATE
    guide_title: ShortText | None = None
    filler: FillerSetIn = FillerSetIn()

    @model_validator(mode="after")
    def _duration_is_set(self) -> Self:
        if self.mode is PlayMode.DURATION and self.duration_minutes is None:
            raise ValueError("a duration item needs 'duration_minutes'")
        return self


class TimeSlotIn(Input):
    """A slot starting at local ``start`` on ``weekdays``; it lasts until the next slot."""

    start: LocalTime
    source: ContentSourceIn
    weekdays: list[Weekday] = Field(default=[], max_length=7)
    mode: PlayMode = PlayMode.FLOOD
    count: Count = 1
    lateness: Lateness = Lateness.START_LATE
    guide_title: ShortText | None = None
    filler: FillerSetIn = FillerSetIn()


class BlockEntryIn(Input):
    source: ContentSourceIn
    count: Count = 1


class BlockIn(Input):
    """A fixed-length block (``minutes`` at least 1) of entries played in order."""

    key: BlockKey
    name: Name
    minutes: Minutes
    entries: list[BlockEntryIn] = Field(min_length=1, max_length=100)
    filler: FillerSetIn = FillerSetIn()


class BlockPlacementIn(Input):
    start: LocalTime
    block_key: BlockKey


class BlockTemplateIn(Input):
    placements: list[BlockPlacementIn] = Field(min_length=1, max_length=500)
    weekdays: list[Weekday] = Field(default=[], max_length=7)


class ScheduleIn(Input):
    """A schedule. ``items`` schedules need ``items``, ``slots`` schedules ``slots``, and
    ``blocks`` schedules ``blocks`` and ``templates``; parts of other kinds are refused.
    ``seed`` drives shuffles and filler picks (random when omitted)."""

    name: Name
    kind: ScheduleKind
    timezone: Annotated[str, Field(max_length=64, examples=["Europe/Paris"])] = "UTC"
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = Field(default_factory=_random_seed)
    items: list[ScheduleItemIn] = Field(default=[], max_length=500)
    slots: list[TimeSlotIn] = Field(default=[], max_length=2100)
    blocks: list[BlockIn] = Field(default=[], max_length=200)
    templates: list[BlockTemplateIn] = Field(default=[], max_length=50)
    fallback: Id | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except InvalidInput as err:
            raise ValueError(err.message) from None
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        parts = {"items": self.items, "slots": self.slots, "blocks": self.blocks,
                 "templates": self.templates}  # fmt: skip
        needed = {
            ScheduleKind.ITEMS: ("items",),
            ScheduleKind.SLOTS: ("slots",),
            ScheduleKind.BLOCKS: ("blocks", "templates"),
        }[self.kind]
        for name, value in parts.items():
            if name in needed and not value:
                raise ValueError(f"a {self.kind} schedule needs '{name}'")
            if name not in needed and value:
                raise ValueError(f"a {self.kind} schedule has no '{name}'")
        self._check_blocks()
        return self

    def _check_blocks(self) -> None:
        keys = [block.key for block in self.blocks]
        if len(set(keys)) != len(keys):
            raise ValueError("block keys must be unique")
        for n, template in enumerate(self.templates):
            for placement in template.placements:
                if placement.block_key not in keys:
                    raise ValueError(f"templates.{n}: no block with key {placement.block_key!r}")

    def to_domain(self) -> Schedule:
        """The schedule to store (``id`` 0: assigned by the store)."""
        return schedule_from_json(self.model_dump(mode="json"))


class ScheduleOut(ScheduleIn):
    id: int

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls.model_validate(schedule_to_json(schedule))


class WeightedCollectionIn(Input):
    collection_id: Id
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


class FillerPresetIn(Input):
    """Filler of one kind from weighted collections. ``count``: items per pre/mid/post-roll
    break. Mid-roll: at chapters, or every ``mid_roll_every_minutes``. Tail: pad to the
    next multiple of ``tail_boundary_minutes`` of the clock, or (when that is null) for
    ``tail_fixed_seconds``. ``cooldown_minutes``: an item does not repeat within it.
    ``cut_to_fit``: a tail or fallback pad is filled exactly, its last item cut (and faded
    out); when false only whole items play and the fallback filler covers the rest."""

    name: Name
    kind: FillerKind
    collections: list[WeightedCollectionIn] = Field(min_length=1, max_length=50)
    cooldown_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 0
    count: Annotated[int, Field(ge=1, le=100)] = 1
    mid_roll_every_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None
    tail_boundary_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = 30
    tail_fixed_seconds: Annotated[int, Field(ge=0, le=24 * 3600)] | None = None
    cut_to_fit: bool = True

    def to_domain(self) -> FillerPreset:
        """The preset to store (``id`` 0: assigned by the store)."""
        return preset_from_json(self.model_dump(mode="json"))


class FillerPresetOut(FillerPresetIn):
    id: int

    @classmethod
    def of(cls, preset: FillerPreset) -> FillerPresetOut:
        return cls.model_validate(preset_to_json(preset))
