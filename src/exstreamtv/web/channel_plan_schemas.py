"""Request and response bodies of ``/api/channel-plans``: a sentence in, a previewed plan
out, and the confirmation that creates the channel.

Times in slots are local to the plan's ``timezone`` (``HH:MM``); weekdays are 0 (Monday) to
6 (Sunday), an empty list meaning every day. ``expires_at`` is ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import InvalidInput
from exstreamtv.scheduling.sentence import MAX_SENTENCE
from exstreamtv.services.channel_plans import ChannelProposal, PlannedCollection
from exstreamtv.web.playout_schemas import PreviewOut
from exstreamtv.web.schemas import Input, Name


class PlanIn(Input):
    """Describe the channel in a sentence, e.g. "90s cartoons on weekday mornings, movies
    at night"; ``timezone`` (IANA) is where its times are meant."""

    sentence: Annotated[str, Field(min_length=1, max_length=MAX_SENTENCE)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"


class ApplyIn(Input):
    """Create the planned channel: ``confirm`` must be ``true``; ``name`` and ``number``
    override the plan's."""

    confirm: Literal[True]
    name: Name | None = None
    number: Annotated[str, Field(max_length=20, examples=["7"])] | None = None

    @field_validator("number")
    @classmethod
    def _valid_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ChannelNumber.parse(value))
        except InvalidInput as err:
            raise ValueError(err.message) from None


class PlannedCollectionOut(BaseModel):
    """A collection the plan would create and what it would hold now."""

    label: str
    show: str | None
    kinds: list[str]
    genres: list[str]
    year_min: int | None
    year_max: int | None
    order: str
    items: int
    examples: list[str]

    @classmethod
    def of(cls, planned: PlannedCollection) -> PlannedCollectionOut:
        pick = planned.pick
        return cls(
            label=pick.label, show=pick.show, kinds=[k.value for k in pick.kinds],
            genres=list(pick.genres), year_min=pick.year_min, year_max=pick.year_max,
            order=pick.order.value, items=planned.items, examples=list(planned.examples),
        )  # fmt: skip


class PlannedSlotOut(BaseModel):
    start: str
    weekdays: list[int]
    title: str
    collections: list[str]


class PlanOut(BaseModel):
    """A plan waiting for confirmation: nothing of it is saved yet. ``mode`` is ``rules``
    or ``llm``; ``notes`` say what was left out or not understood."""

    id: str
    sentence: str
    name: str
    number: str
    timezone: str
    mode: str
    expires_at: datetime
    notes: list[str]
    collections: list[PlannedCollectionOut]
    filler: PlannedCollectionOut | None
    slots: list[PlannedSlotOut]
    preview: PreviewOut

    @classmethod
    def of(cls, proposal: ChannelProposal) -> PlanOut:
        plan = proposal.plan
        slots = [
            PlannedSlotOut(
                start=slot.start.strftime("%H:%M"), weekdays=sorted(slot.weekdays),
                title=slot.title, collections=[plan.collections[i].label for i in slot.collections],
            )
            for slot in plan.slots
        ]  # fmt: skip
        return cls(
            id=proposal.id, sentence=plan.sentence, name=plan.name,
            number=str(proposal.number), timezone=proposal.timezone, mode=plan.mode,
            expires_at=proposal.expires_at, notes=list(plan.notes),
            collections=[PlannedCollectionOut.of(c) for c in proposal.collections],
            filler=PlannedCollectionOut.of(proposal.filler) if proposal.filler else None,
            slots=slots, preview=PreviewOut.of(proposal.preview),
        )  # fmt: skip
