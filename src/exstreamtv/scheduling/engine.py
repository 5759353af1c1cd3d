"""The playout engine: a schedule, its collections and a cursor in; timeline entries out.

Pure: no I/O, no clock, no global randomness. ``build`` emits entries from
``state.next_ms`` (or ``start``) until the timeline reaches ``until``, one *step* at a time.
A step emits exactly one guide group (a programme with its filler, or one gap) and depends
only on the cursor, never on ``until``; so building to T1 and then continuing to T2 gives
exactly what building to T2 at once gives.

Invariants (property-tested): entries are contiguous (each finish is the next start), every
entry starts on a whole second and lasts at least one, filler never exceeds the gap it
fills, and a degenerate input (empty or deleted collection, zero durations, all media
missing) yields offline or fallback entries with a warning instead of looping or leaving a
hole.

Whole seconds: media durations and chapter marks are rounded down to a whole second before
anything is placed (so the stream never runs out of frames: at most the fraction of an
item's last second is left unplayed), and every fixed time (slots, fixed starts, tail
boundaries) is whole minutes; so every entry starts on a whole second and the guide's
one-second resolution is exact. A timeline continued from a point that is not (a playout
stored by an older version) first gets an offline entry up to the next whole second.

Filling a pad: tail filler (or, for a gap, fallback filler) covers the pad exactly: whole
items while they fit, then one more item cut to the remainder and marked ``cut`` (the stream
fades it out), unless its preset says ``cut_to_fit: false``; then the fallback filler fills
what is left the same way. Only when no filler is available at all does the remainder
become ``offline`` time, which the guide lists as such (``formats.guide_folding``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from exstreamtv.domain.playout import (
    SECOND_MS,
    BuildWarning,
    EntryKind,
    Playable,
    PlayoutEntry,
    ceil_second,
    floor_second,
    to_ms,
)
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerPreset,
    FillerSet,
    Schedule,
    ScheduleKind,
)
from exstreamtv.scheduling.enumerators import Enumerator, enumerator_for
from exstreamtv.scheduling.filler import (
    FillerMemory,
    FillerPool,
    choose,
    fill,
    mid_roll_breaks,
    tail_target_ms,
)
from exstreamtv.scheduling.localtime import utc_offset_ms, zone
from exstreamtv.scheduling.state import BuildState

# An element whose source has nothing to play still has to move time forward: it yields a
# gap of this length (or up to its window's end, if it has one).
EMPTY_SOURCE_GAP_MS = 60 * 60 * 1000
# A gap is emitted in guide groups of at most this length, one per step, so a refresh
# (which keeps the guide group on air) never has to wait for a days-long gap to end.
GAP_GROUP_MS = 30 * 60 * 1000
FILLER_SEED_SALT = 0x5EED


@dataclass(frozen=True, slots=True)
class BuildInputs:
    """What a build reads: the schedule, collection contents and filler presets by id."""

    schedule: Schedule
    collections: Mapping[int, Sequence[Playable]]
    presets: Mapping[int, FillerPreset] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """Entries to add, the cursor after each guide group's last entry (``None`` inside a
    group), the final cursor, and warnings (deduplicated, in first-seen order)."""

    entries: list[PlayoutEntry]
    cursors: list[BuildState | None]
    state: BuildState
    warnings: list[BuildWarning]


class Builder:
    """Mutable state of one build, and the primitives every schedule kind uses."""

    def __init__(self, inputs: BuildInputs, state: BuildState, *, cursors: bool = True) -> None:
        self.inputs = inputs = _whole_seconds(inputs)
        self._keep_cursors = cursors
        self.schedule = inputs.schedule
        self.tz = zone(self.schedule.timezone)
        self.now = state.next_ms
        self.position = state.position
        self.remaining = state.remaining
        self.element_start = state.element_start_ms
        self.group = state.guide_group
        self.extra = dict(state.extra)
        self._saved_enumerators = dict(state.enumerators)
        self._enumerators: dict[ContentSource, Enumerator] = {}
        self._enumerator_keys: list[tuple[str, ContentSource | None]] = sorted(
            (key, None) for key in self._saved_enumerators
        )
        self._pools: dict[int, FillerPool] = {}
        self.memory = FillerMemory.from_state(state)
        self.entries: list[PlayoutEntry] = []
        self.cursors: list[BuildState | None] = []
        self._warnings: dict[tuple[str, str], BuildWarning] = {}
        self._filler_seed = self.schedule.seed ^ FILLER_SEED_SALT
        cooldowns = [p.cooldown_minutes for p in inputs.presets.values()]
        self._longest_cooldown_ms = max(cooldowns, default=0) * 60_000
        self.memo: dict[object, object] = {}  # per-build caches of the schedule kinds

    # --- cursor -------------------------------------------------------------------

    def snapshot(self) -> BuildState:
        """The cursor as it stands (cheap: it is taken after every step)."""
        enumerators = tuple(
            (
                key,
                self._saved_enumerators[key] if source is None else self._enumerators[source].state,
            )
            for key, source in self._enumerator_keys
        )
        return BuildState(
            next_ms=self.now,
            position=self.position,
            remaining=self.remaining,
            element_start_ms=self.element_start,
            enumerators=enumerators,
            filler_last_played=self.memory.export(self.now, self._longest_cooldown_ms),
            guide_group=self.group,
            draws=self.memory.draws,
            extra=tuple(sorted(self.extra.items())),
        )

    def warn(self, code: str, message: str) -> None:
        self._warnings.setdefault((code, message), BuildWarning(code, message))

    def result(self) -> BuildResult:
        return BuildResult(
            self.entries, self.cursors, self.snapshot(), list(self._warnings.values())
        )

    # --- sources ------------------------------------------------------------------

    def content(self, source: ContentSource) -> Enumerator:
        """The enumerator of ``source``, created once per build from the saved cursor."""
        found = self._enumerators.get(source)
        if found is None:
            self._check_source(source)
            key = source.key
            found = enumerator_for(
                source,
                self.inputs.collections,
                self._saved_enumerators.get(key),
                self.schedule.seed,
            )
            self._enumerators[source] = found
            others = [(k, s) for k, s in self._enumerator_keys if k != key]
            self._enumerator_keys = sorted([*others, (key, source)], key=lambda pair: pair[0])
        return found

    def _check_source(self, source: ContentSource) -> None:
        for collection_id in source.collection_ids:
            items = self.inputs.collections.get(collection_id)
            if items is None:
                self.warn("missing_collection", f"collection {collection_id} does not exist")
            elif not items:
                self.warn("empty_collection", f"collection {collection_id} has no media")
            elif all(item.duration_ms <= 0 for item in items):
                self.warn(
                    "no_durations",
                    f"collection {collection_id} has no media with a known duration",
                )

    def pool(self, preset_id: int | None) -> FillerPool | None:
        if preset_id is None:
            return None
        found = self._pools.get(preset_id)
        if found is None:
            preset = self.inputs.presets.get(preset_id)
            if preset is None:
                self.warn("missing_filler", f"filler preset {preset_id} does not exist")
                return None
            found = FillerPool(preset, self.inputs.collections)
            self._pools[preset_id] = found
        return None if found.empty else found

    # --- emitting -----------------------------------------------------------------

    def emit(
        self,
        kind: EntryKind,
        media: Playable | None,
        length_ms: int,
        *,
        in_point_ms: int = 0,
        title: str | None = None,
        source: str = "",
        cut: bool = False,
    ) -> None:
        """Append an entry of ``length_ms`` (>0) at the end of the timeline."""
        self.entries.append(
            PlayoutEntry(
                start_ms=self.now,
                finish_ms=self.now + length_ms,
                kind=kind,
                media_id=None if media is None else media.id,
                in_point_ms=in_point_ms,
                out_point_ms=in_point_ms + length_ms,
                guide_group=self.group,
                guide_title=title,
                source=source,
                cut=cut,
            )
        )
        self.cursors.append(None)
        self.now += length_ms

    def close_group(self) -> None:
        """End the current guide group; the next entry starts a new one."""
        self.group += 1

    def end_step(self) -> None:
        """Record the cursor on the step's last entry, after every change the step made.

        A step emits exactly one guide group, so this is the cursor after that group: the
        point a refresh resumes from. A build that keeps no cursors (a preview: nothing is
        saved to resume from) skips it; a cursor is pure, so the entries are the same.
        """
        if self.entries and self._keep_cursors:
            self.cursors[-1] = self.snapshot()

    def filler(
        self, kind: EntryKind, pool: FillerPool | None, *, budget_ms: int | None,
        count: int | None, title: str | None, source: str, fit: bool = False,
    ) -> None:  # fmt: skip
        """Play filler from ``pool`` within ``budget_ms`` and/or ``count`` items; with
        ``fit``, cover ``budget_ms`` exactly, the last item cut to the remainder."""
        if pool is None or (budget_ms is not None and budget_ms <= 0):
            return
        if fit and budget_ms is not None:
            played = fill(pool, self.memory, self._filler_seed, at_ms=self.now, budget_ms=budget_ms)
            for pick, length in played:
                self.emit(kind, pick, length, title=title, source=source,
                          cut=length < pick.duration_ms)  # fmt: skip
            return
        picks = choose(
            pool, self.memory, self._filler_seed, at_ms=self.now, budget_ms=budget_ms, count=count
        )
        for pick in picks:
            self.emit(kind, pick, pick.duration_ms, title=title, source=source)

    def cover(
        self, until_ms: int, kind: EntryKind, pool: FillerPool | None, fillers: FillerSet,
        *, title: str | None, source: str,
    ) -> None:  # fmt: skip
        """Cover ``[now, until_ms)`` in the current group: ``pool`` as ``kind``, then the
        fallback filler, each cut to fit unless its preset forbids it; whatever is still
        left (no filler at all) becomes offline time."""
        for filler_kind, filler_pool in (
            (kind, pool),
            (EntryKind.FALLBACK, self._fallback(fillers)),
        ):
            if filler_pool is not None and until_ms > self.now:
                self.filler(
                    filler_kind, filler_pool, budget_ms=until_ms - self.now, count=None,
                    title=title, source=source, fit=filler_pool.preset.cut_to_fit,
                )  # fmt: skip
        if until_ms > self.now:
            self.emit(EntryKind.OFFLINE, None, until_ms - self.now, title=title, source=source)

    def _fallback(self, fillers: FillerSet) -> FillerPool | None:
        return self.pool(fillers.fallback) or self.pool(self.schedule.fallback)

    def gap(self, until_ms: int, fillers: FillerSet, source: str) -> None:
        """Cover ``[now, until_ms)`` with fallback filler, then offline time, as one guide
        group of about ``GAP_GROUP_MS``; the next step continues a longer gap.

        Whole items play until the group is that long (the group ends where one ends, so
        a long gap is never cut mid-item at a group boundary); only the end of the gap,
        where no whole item fits, is covered by a cut item, or offline time.
        """
        if until_ms <= self.now:
            return
        cap = self.now + GAP_GROUP_MS
        fallback = self._fallback(fillers)
        while fallback is not None and self.now < min(cap, until_ms):
            before = self.now
            self.filler(
                EntryKind.FALLBACK, fallback, budget_ms=until_ms - self.now, count=1,
                title=None, source=source,
            )  # fmt: skip
            if self.now == before:  # no whole item fits before the gap ends
                break
        if self.now < min(cap, until_ms):
            end = until_ms if fallback is not None else min(until_ms, cap)
            self.cover(end, EntryKind.FALLBACK, None, fillers, title=None, source=source)
        self.close_group()

    def pad(self, until_ms: int, fillers: FillerSet, source: str, title: str | None = None) -> None:
        """Pad ``[now, until_ms)`` as one group: tail filler, then fallback, then offline."""
        if until_ms <= self.now:
            return
        tail = self.pool(fillers.tail)
        if tail is None:
            self.gap(until_ms, fillers, source)
            return
        self.cover(until_ms, EntryKind.TAIL, tail, fillers, title=title, source=source)
        self.close_group()

    def empty_gap(self, source: str, window_end_ms: int | None, fillers: FillerSet) -> None:
        """The gap an element with nothing to play leaves (to its window end, if any)."""
        end = window_end_ms if window_end_ms is not None else self.now + EMPTY_SOURCE_GAP_MS
        self.gap(max(end, self.now + 1), fillers, source)

    def programme(
        self,
        media: Playable,
        fillers: FillerSet,
        *,
        title: str | None,
        source: str,
        deadline_ms: int | None = None,
    ) -> None:
        """One content item with its pre-roll, mid-rolls, post-roll and tail, as one group.

        With ``deadline_ms`` nothing goes past it: content is cut there and filler only
        fills what is left. Without one, filler adds to the programme's length.
        """
        length = media.duration_ms
        if deadline_ms is not None:
            length = min(length, deadline_ms - self.now)
        if length <= 0:
            return
        pre = self.pool(fillers.pre_roll)
        spare = None if deadline_ms is None else deadline_ms - self.now - length
        if pre is not None:
            self.filler(
                EntryKind.PRE_ROLL, pre, budget_ms=spare, count=pre.preset.count,
                title=title, source=source,
            )  # fmt: skip
        self._content(media, length, fillers, title=title, source=source, deadline_ms=deadline_ms)
        self._after(fillers, title=title, source=source, deadline_ms=deadline_ms)
        self.close_group()

    def _content(
        self, media: Playable, length: int, fillers: FillerSet, *, title: str | None,
        source: str, deadline_ms: int | None,
    ) -> None:  # fmt: skip
        mid = self.pool(fillers.mid_roll)
        breaks = [b for b in mid_roll_breaks(media, mid.preset) if b < length] if mid else []
        cut = 0
        truncated = length < media.duration_ms  # cut at a deadline: the stream fades it out
        for point in (*breaks, length):
            self.emit(EntryKind.CONTENT, media, point - cut, in_point_ms=cut, title=title,
                      source=source, cut=truncated and point == length)  # fmt: skip
            if point < length and mid is not None:
                budget = None if deadline_ms is None else deadline_ms - self.now - (length - point)
                self.filler(
                    EntryKind.MID_ROLL, mid, budget_ms=budget, count=mid.preset.count,
                    title=title, source=source,
                )  # fmt: skip
            cut = point

    def _after(
        self, fillers: FillerSet, *, title: str | None, source: str, deadline_ms: int | None
    ) -> None:
        post = self.pool(fillers.post_roll)
        if post is not None:
            budget = None if deadline_ms is None else deadline_ms - self.now
            self.filler(
                EntryKind.POST_ROLL, post, budget_ms=budget, count=post.preset.count,
                title=title, source=source,
            )  # fmt: skip
        tail = self.pool(fillers.tail)
        if tail is None:
            return
        target = tail_target_ms(self.now, tail.preset, utc_offset_ms(self.tz, self.now))
        if deadline_ms is not None:
            target = min(target, deadline_ms)
        self.cover(target, EntryKind.TAIL, tail, fillers, title=title, source=source)


Step = Callable[[Builder], None]


def _step_for(kind: ScheduleKind) -> Step:
    # Imported here: each schedule kind's module builds on this one.
    from exstreamtv.scheduling import blocks, items, slots  # noqa: PLC0415

    return {ScheduleKind.ITEMS: items.step, ScheduleKind.SLOTS: slots.step,
            ScheduleKind.BLOCKS: blocks.step}[kind]  # fmt: skip


def build(
    inputs: BuildInputs,
    state: BuildState | None,
    start: datetime,
    until: datetime,
    *,
    cursors: bool = True,
) -> BuildResult:
    """Extend a timeline until it reaches ``until``.

    ``state`` is the cursor after the last existing entry (``None`` for a new timeline,
    which then begins at ``start``; ``start`` is ignored otherwise). The last entry may
    end after ``until``: programmes are never cut to fit a build's horizon. Without
    ``cursors`` the result's cursors are all ``None`` (for a build nothing resumes from).
    """
    if state is None:
        state = BuildState(next_ms=to_ms(start))
    builder = Builder(inputs, state, cursors=cursors)
    step = _step_for(inputs.schedule.kind)
    until_ms = to_ms(until)
    if builder.now % SECOND_MS:  # continued from a time that is not a whole second
        builder.emit(EntryKind.OFFLINE, None, ceil_second(builder.now) - builder.now,
                     source="alignment")  # fmt: skip
        builder.close_group()
        builder.end_step()
    while builder.now < until_ms:
        before = builder.now
        step(builder)
        if builder.now <= before:  # a step must always move time; never loop in place
            builder.empty_gap("stalled", None, FillerSet())
            builder.warn("stalled", "the schedule produced nothing; filled with offline time")
        builder.end_step()
    return builder.result()


def _whole_seconds(inputs: BuildInputs) -> BuildInputs:
    """``inputs`` with every duration and chapter mark rounded down to a whole second."""
    collections = {
        collection_id: [_whole(item) for item in items]
        if any(item.duration_ms % SECOND_MS or item.chapters_ms for item in items)
        else items  # already whole (the usual case): every build reads them all
        for collection_id, items in inputs.collections.items()
    }
    return replace(inputs, collections=collections)


def _whole(item: Playable) -> Playable:
    chapters = item.chapters_ms
    if item.duration_ms % SECOND_MS == 0 and (
        not chapters or all(c % SECOND_MS == 0 for c in chapters)
    ):  # most items have no chapters: no generator for them (every build reads them all)
        return item
    return replace(
        item,
        duration_ms=floor_second(item.duration_ms),
        chapters_ms=tuple(floor_second(c) for c in chapters),
    )
