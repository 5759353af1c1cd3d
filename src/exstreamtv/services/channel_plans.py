"""Channels from a sentence: a previewed plan first, a channel only once it is confirmed.

:meth:`ChannelPlanService.propose` reads the sentence (the rules of
``scheduling/sentence.py``; with ``llm.base_url`` set, the model may read it instead, within
the same vocabulary), drops what the library has nothing for, and keeps the plan under a
random id for :data:`PLAN_TTL_SEC` seconds (at most :data:`MAX_PLANS` at a time) with a
24-hour preview built by the real engine. Nothing is written to the database.

:meth:`ChannelPlanService.apply` is the confirmation: it creates, in one transaction, the
plan's smart collections, its filler (a collection and the schedule's fallback preset,
which pads the end of each slot and stands in for anything unavailable), a ``slots``
schedule and the channel with that schedule; then it builds the playout. A plan is applied
at most once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.agent.channel_planner import LLMChannelPlanner
from exstreamtv.clock import Clock
from exstreamtv.domain.channel_plans import (
    ChannelPlan,
    ContentPick,
    LibraryFacets,
    Understanding,
)
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import FillerKind, FillerPreset, WeightedCollection
from exstreamtv.errors import InvalidInput, NotFound
from exstreamtv.scheduling.engine import BuildInputs
from exstreamtv.scheduling.localtime import zone
from exstreamtv.scheduling.sentence import MAX_SENTENCE, understand
from exstreamtv.scheduling.week_grid import as_schedule, plan_channel
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.playout_inputs import playable
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import PlayoutService, Preview
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.media_facets import MediaFacetRepository
from exstreamtv.store.schedules import FillerPresetRepository, ScheduleRepository

log = logging.getLogger(__name__)
PLAN_TTL_SEC = 3600.0
MAX_PLANS = 64
PREVIEW_HOURS = 24
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class PlannedCollection:
    """A collection of the plan with what it would hold now: the number of present items
    and the first few titles."""

    pick: ContentPick
    items: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelProposal:
    """A plan waiting for confirmation (``expires_at`` is UTC)."""

    id: str
    plan: ChannelPlan
    timezone: str
    number: ChannelNumber
    collections: tuple[PlannedCollection, ...]
    filler: PlannedCollection | None
    preview: Preview
    expires_at: datetime
    made_mono: float


class ChannelPlanService:
    """See the module docstring."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        playouts: PlayoutService,
        changes: GuideChanges,
        *,
        llm: LLMChannelPlanner | None = None,
    ) -> None:
        self._sessions, self._clock, self._playouts = sessions, clock, playouts
        self._changes, self.llm = changes, llm
        self._plans: OrderedDict[str, ChannelProposal] = OrderedDict()

    # --- proposing -------------------------------------------------------------------

    async def propose(self, sentence: str, timezone: str = "UTC") -> ChannelProposal:
        """Plan a channel from ``sentence`` (1..500 characters) in ``timezone`` (IANA).

        Raises :class:`InvalidInput` for a bad sentence or zone, and when nothing in the
        sentence names something the library has (the notes say what was not found)."""
        sentence = " ".join(sentence.split())
        if not sentence or len(sentence) > MAX_SENTENCE:
            raise InvalidInput(f"sentence: 1 to {MAX_SENTENCE} characters")
        zone(timezone)
        async with self._sessions() as session:
            facets = await MediaFacetRepository(session).facets()
        found, mode = await self._understand(sentence, facets)
        kept, counts, notes = await self._playable(found)
        plan = await asyncio.to_thread(plan_channel, kept, facets, sentence, mode=mode)
        plan = replace(plan, notes=plan.notes + notes)
        if not plan.collections:
            said = " ".join(plan.notes) or "no genre, show, kind or decade was recognised."
            raise InvalidInput(f"nothing in that sentence names media in your library: {said}")
        proposal = await self._proposal(plan, timezone, counts)
        self._keep(proposal)
        log.info("channel plan %s proposed (%s): %s", proposal.id, mode, plan.name)
        return proposal

    async def _understand(self, sentence: str, facets: LibraryFacets) -> tuple[Understanding, str]:
        rules = await asyncio.to_thread(understand, sentence, facets)  # CPU: off the loop
        if self.llm is None:
            return rules, "rules"
        shows = [p.show for s in rules.segments for p in s.picks if p.show]
        try:
            read = await self.llm.understand(sentence, facets, shows)
        except Exception:  # the LLM is optional: the rules' reading stands
            log.exception("LLM channel planning failed; using the rules")
            read = None
        if read is None:
            note = "The language model's answer could not be used; the rules read the sentence."
            return replace(rules, notes=(*rules.notes, note)), "rules"
        return replace(read, name=rules.name, filler=rules.filler), "llm"

    async def _playable(
        self, found: Understanding
    ) -> tuple[Understanding, dict[tuple[object, ...], PlannedCollection], tuple[str, ...]]:
        """``found`` without the picks the library has nothing for, what each kept pick
        holds, and a note per dropped pick."""
        picks = [p for s in found.segments for p in s.picks]
        picks += [*(found.rest or ()), *([found.filler] if found.filler else [])]
        counts: dict[tuple[object, ...], PlannedCollection] = {}
        async with self._sessions() as session:
            media = MediaRepository(session)
            for pick in picks:
                if pick.key not in counts:
                    items, total = await media.smart(pick.query, 0, EXAMPLES)
                    counts[pick.key] = PlannedCollection(
                        pick, total, tuple(i.metadata.title for i in items)
                    )
        empty = [p for p in picks if counts[p.key].items == 0]
        notes = tuple(
            f"Nothing in your library matches {label}; left out."
            for label in dict.fromkeys(p.label for p in empty)
        )

        def keep(chosen: Iterable[ContentPick]) -> tuple[ContentPick, ...]:
            return tuple(p for p in chosen if counts[p.key].items > 0)

        segments = tuple(replace(s, picks=keep(s.picks)) for s in found.segments if keep(s.picks))
        rest = keep(found.rest) if found.rest else None
        filler = found.filler if found.filler and counts[found.filler.key].items else None
        kept = replace(found, segments=segments, rest=rest or None, filler=filler)
        return kept, counts, notes

    async def _proposal(
        self,
        plan: ChannelPlan,
        timezone: str,
        counts: dict[tuple[object, ...], PlannedCollection],
    ) -> ChannelProposal:
        async with self._sessions() as session:
            number = await _free_number(session)
            contents = await _contents(session, plan)
        preview = await self._playouts.preview_inputs(
            _preview_inputs(plan, timezone, contents), PREVIEW_HOURS
        )
        filler = None
        if plan.filler is not None:
            filler = counts.get(plan.filler.key) or await self._count(plan.filler)
        return ChannelProposal(
            id=secrets.token_urlsafe(12),
            plan=plan,
            timezone=timezone,
            number=number,
            collections=tuple(counts[p.key] for p in plan.collections),
            filler=filler,
            preview=preview,
            expires_at=self._clock.now() + timedelta(seconds=PLAN_TTL_SEC),
            made_mono=self._clock.monotonic(),
        )

    async def _count(self, pick: ContentPick) -> PlannedCollection:
        async with self._sessions() as session:
            items, total = await MediaRepository(session).smart(pick.query, 0, EXAMPLES)
        return PlannedCollection(pick, total, tuple(i.metadata.title for i in items))

    def _keep(self, proposal: ChannelProposal) -> None:
        self._expire()
        self._plans[proposal.id] = proposal
        while len(self._plans) > MAX_PLANS:
            self._plans.popitem(last=False)

    def _expire(self) -> None:
        now = self._clock.monotonic()
        for plan_id in [i for i, p in self._plans.items() if now - p.made_mono > PLAN_TTL_SEC]:
            del self._plans[plan_id]

    def proposal(self, plan_id: str) -> ChannelProposal:
        """A plan waiting for confirmation; :class:`NotFound` when unknown, expired or
        already applied."""
        self._expire()
        found = self._plans.get(plan_id)
        if found is None:
            raise NotFound("no such channel plan (it may have expired or been applied)")
        return found

    def discard(self, plan_id: str) -> None:
        """Forget a plan (raises :class:`NotFound`)."""
        self.proposal(plan_id)
        del self._plans[plan_id]

    # --- confirming ------------------------------------------------------------------

    async def apply(
        self, plan_id: str, *, name: str | None = None, number: ChannelNumber | None = None
    ) -> Channel:
        """Create the planned channel (see the module docstring); ``name`` and ``number``
        override the plan's (without ``number``, the suggested one, or the next free one if
        it was taken meanwhile). Raises NotFound (no such plan), Conflict (``number`` is
        taken) or InvalidInput."""
        proposal = self.proposal(plan_id)
        plan = proposal.plan
        title = " ".join((name or plan.name).split())[:100] or plan.name
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            wanted = number or await _free_number(session, proposal.number)
            collections = CollectionRepository(session)
            taken = {c.name for c in await collections.all()}
            ids = []
            for pick in plan.collections:
                label = _unique(f"{title}: {pick.label}", taken)
                stored = await collections.create(_collection(pick, label), now)
                ids.append(stored.id)
            fallback = await _fallback(session, plan, title, taken, now)
            schedules = ScheduleRepository(session)
            schedule_name = _unique(title, {s.name for s in await schedules.all()})
            schedule = await schedules.create(
                as_schedule(plan, name=schedule_name, timezone=proposal.timezone,
                            collection_ids=ids, fallback=fallback),
                now,
            )  # fmt: skip
            channels = ChannelRepository(session)
            await channels.create(ChannelFields(wanted, title), now)
            channel = await channels.set_schedule(wanted, schedule.id, now)
        self._plans.pop(plan_id, None)
        self._changes.channel_changed(channel.id)
        await self._playouts.build(wanted, BuildMode.RESET)
        log.info("channel %s created from plan %s: %s", wanted, plan_id, title,
                 extra={"channel": str(wanted)})  # fmt: skip
        return channel


async def _free_number(session: AsyncSession, wanted: ChannelNumber | None = None) -> ChannelNumber:
    """``wanted`` if no channel has it, else the number after the highest in use."""
    taken = [c.number for c in await ChannelRepository(session).all()]
    if wanted is not None and wanted not in taken:
        return wanted
    return ChannelNumber.parse(str(max((n.major for n in taken), default=0) + 1))


async def _contents(session: AsyncSession, plan: ChannelPlan) -> list[list[Playable]]:
    """What each planned collection (and then the filler) would hold, for the preview."""
    repo = CollectionRepository(session)
    picks = [*plan.collections, *([plan.filler] if plan.filler else [])]
    return [
        [playable(item) for item in await repo.items(_collection(pick, pick.label))]
        for pick in picks
    ]


def _preview_inputs(
    plan: ChannelPlan, timezone: str, contents: Sequence[Sequence[Playable]]
) -> BuildInputs:
    """The engine's inputs with stand-in ids: collections 1..n, the filler n + 1 and its
    fallback preset 1."""
    ids = list(range(1, len(plan.collections) + 1))
    collections = {i + 1: list(items) for i, items in enumerate(contents)}
    presets: dict[int, FillerPreset] = {}
    if plan.filler is not None:
        source = (WeightedCollection(len(plan.collections) + 1),)
        presets = {1: FillerPreset(1, "fallback", FillerKind.FALLBACK, source)}
    schedule = as_schedule(plan, name=plan.name, timezone=timezone, collection_ids=ids,
                           fallback=1 if presets else None)  # fmt: skip
    return BuildInputs(schedule=schedule, collections=collections, presets=presets)


async def _fallback(
    session: AsyncSession, plan: ChannelPlan, title: str, taken: set[str], now: datetime
) -> int | None:
    """Store the filler collection and its fallback preset; the preset's id."""
    if plan.filler is None:
        return None
    label = _unique(f"{title}: {plan.filler.label}", taken)
    stored = await CollectionRepository(session).create(_collection(plan.filler, label), now)
    presets = FillerPresetRepository(session)
    name = _unique(f"{title} filler", {p.name for p in await presets.all()})
    source = (WeightedCollection(stored.id),)
    return (await presets.create(FillerPreset(0, name, FillerKind.FALLBACK, source))).id


def _collection(pick: ContentPick, name: str) -> Collection:
    if pick.show is not None:
        return Collection(0, name, CollectionKind.SHOW, show=pick.show)
    return Collection(0, name, CollectionKind.SMART, query=pick.query)


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``(3)``... whichever is free; it is then taken."""
    found, n = name[:190], 1
    while found in taken:
        n += 1
        found = f"{name[:180]} ({n})"
    taken.add(found)
    return found
