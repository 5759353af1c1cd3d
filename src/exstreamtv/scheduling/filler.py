"""Filler: choosing short items to pad breaks, and where breaks and tail pads go.

Pure: time arrives as UTC milliseconds, randomness as ``(seed, n)`` through
:func:`~exstreamtv.scheduling.state.mix`, where ``n`` is :attr:`FillerMemory.draws`, the
filler random stream's index. The same pool, memory and seed always give the same picks.

Rounding policy: filler never exceeds the gap it fills. :func:`choose` only ever picks items
whose whole duration fits the budget that remains, so the sum of the picks is at most the
budget. :func:`fill` covers a budget exactly: what :func:`choose` picks, then one more item
cut to the remainder that no whole item fits. Nothing is ever stretched or looped.

Selection: among the weighted collections that still have an eligible item, one is chosen
with probability proportional to its weight, then one of its eligible items uniformly.
Eligible means it fits the remaining budget and is not cooling down: an item is cooling
down while ``last_played[id] + cooldown > start`` of the would-be play. Cooldown fallback:
when every item that fits is cooling down, the fitting item whose cooldown ends soonest
(ties: lowest id) plays anyway, so a pad can still be filled; it still has to fit.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import FillerPreset
from exstreamtv.scheduling.state import BuildState, mix, unit

MINUTE_MS = 60_000
EDGE_GUARD_MS = 30_000
"""No mid-roll break lands within this distance of either end of an item."""

_SAMPLES = 4
"""Random tries for an item out of cooldown before scanning the fitting items."""

_NEVER = -(1 << 63)
"""``available_at`` of an item that never played as filler: always available."""


@dataclass(slots=True)
class FillerMemory:
    """Mutable during one build: the filler random-stream index and cooldown memory.

    ``draws``: random draws made so far. ``last_played``: media id to the finish (UTC ms)
    of its last play as filler.
    """

    draws: int = 0
    last_played: dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: BuildState) -> FillerMemory:
        """The memory a build continues from."""
        return cls(draws=state.draws, last_played=dict(state.filler_last_played))

    def export(self, now_ms: int, longest_cooldown_ms: int) -> tuple[tuple[int, int], ...]:
        """``(id, finish_ms)`` pairs sorted by id, for :attr:`BuildState.filler_last_played`.

        Entries that cannot hold back any play at or after ``now_ms`` (finish at or before
        ``now_ms - longest_cooldown_ms``) are dropped, so the memory stays bounded.
        """
        horizon = now_ms - longest_cooldown_ms
        return tuple(sorted((m, t) for m, t in self.last_played.items() if t > horizon))

    def available_at(self, media_id: int, cooldown_ms: int) -> int:
        """When ``media_id`` leaves its cooldown (UTC ms); very early if it never played."""
        last = self.last_played.get(media_id)
        return _NEVER if last is None else last + cooldown_ms

    def next_unit(self, seed: int) -> float:
        """The next draw of the stream as a float in [0, 1)."""
        value = unit(seed, self.draws)
        self.draws += 1
        return value

    def next_index(self, seed: int, size: int) -> int:
        """The next draw of the stream as an index in ``range(size)`` (``size > 0``)."""
        value = mix(seed, self.draws) % size
        self.draws += 1
        return value


@dataclass(frozen=True, slots=True)
class _Group:
    """One weighted collection's usable items, shortest first (ties by id)."""

    weight: int
    items: tuple[Playable, ...]
    durations: tuple[int, ...]

    def fitting(self, budget_ms: int | None) -> int:
        """How many items (a prefix of ``items``) are no longer than ``budget_ms``."""
        return len(self.items) if budget_ms is None else bisect_right(self.durations, budget_ms)


class FillerPool:
    """A preset's usable items (``duration_ms > 0``) per weighted collection.

    Prepared once per build. Collections missing from ``collections``, with no usable items,
    or with a weight of zero or less contribute nothing.
    """

    __slots__ = ("_groups", "preset")

    def __init__(self, preset: FillerPreset, collections: Mapping[int, Sequence[Playable]]) -> None:
        self.preset = preset
        groups: list[_Group] = []
        for weighted in preset.collections:
            usable = [p for p in collections.get(weighted.collection_id, ()) if p.duration_ms > 0]
            if weighted.weight <= 0 or not usable:
                continue
            usable.sort(key=lambda p: (p.duration_ms, p.id))
            durations = tuple(p.duration_ms for p in usable)
            groups.append(_Group(weighted.weight, tuple(usable), durations))
        self._groups = tuple(groups)

    @property
    def empty(self) -> bool:
        """True when there is nothing to play."""
        return not self._groups

    @property
    def shortest_ms(self) -> int | None:
        """The shortest usable duration (ms), or ``None`` for an empty pool."""
        return min((g.durations[0] for g in self._groups), default=None)

    @property
    def cooldown_ms(self) -> int:
        """The preset's cooldown in ms."""
        return self.preset.cooldown_minutes * MINUTE_MS

    def _open_groups(self, budget_ms: int | None) -> list[tuple[_Group, int]]:
        """Groups with at least one item fitting ``budget_ms``, each with its fitting count."""
        fits = ((g, g.fitting(budget_ms)) for g in self._groups)
        return [(g, n) for g, n in fits if n]


def choose(
    pool: FillerPool,
    memory: FillerMemory,
    seed: int,
    *,
    at_ms: int,
    budget_ms: int | None,
    count: int | None,
) -> list[Playable]:
    """Filler items to play back to back from ``at_ms`` (UTC ms), in play order.

    Stops after ``count`` items (when given) or when no item fits the budget left (when
    ``budget_ms`` is given); the sum of the durations never exceeds ``budget_ms``. An empty
    pool, a non-positive count or a budget shorter than every item gives ``[]``. Each pick
    advances ``memory.draws`` and records its finish in ``memory.last_played``.

    Raises ``ValueError`` when both ``budget_ms`` and ``count`` are ``None``.
    """
    if budget_ms is None and count is None:
        raise ValueError("choose needs a budget, a count, or both")
    chosen: list[Playable] = []
    start, remaining = at_ms, budget_ms
    while count is None or len(chosen) < count:
        item = _draw(pool, memory, seed, start, remaining)
        if item is None:
            break
        chosen.append(item)
        start += item.duration_ms
        memory.last_played[item.id] = start
        if remaining is not None:
            remaining -= item.duration_ms
    return chosen


def fill(
    pool: FillerPool, memory: FillerMemory, seed: int, *, at_ms: int, budget_ms: int
) -> list[tuple[Playable, int]]:
    """``(item, length_ms)`` pairs to play back to back from ``at_ms`` that cover exactly
    ``budget_ms`` (an empty pool or a budget of 0 or less gives ``[]``).

    Whole items as :func:`choose` picks them, then, when a remainder is left that no item
    fits, one more item (chosen the same way, any length) cut to that remainder: the only
    pair whose length is less than its item's duration.
    """
    if budget_ms <= 0 or pool.empty:
        return []
    played = [
        (item, item.duration_ms)
        for item in choose(pool, memory, seed, at_ms=at_ms, budget_ms=budget_ms, count=None)
    ]
    left = budget_ms - sum(length for _, length in played)
    last = _draw(pool, memory, seed, at_ms + budget_ms - left, None) if left > 0 else None
    if last is not None:
        memory.last_played[last.id] = at_ms + budget_ms
        played.append((last, left))
    return played


def _draw(
    pool: FillerPool, memory: FillerMemory, seed: int, start_ms: int, budget_ms: int | None
) -> Playable | None:
    """One pick starting at ``start_ms``: weighted collection, then uniform eligible item."""
    open_groups = pool._open_groups(budget_ms)
    candidates = list(open_groups)
    cooldown_ms = pool.cooldown_ms
    while candidates:
        index = _pick_weighted(candidates, memory, seed)
        group, fitting = candidates[index]
        item = _pick_rested(
            group, fitting, memory, seed=seed, start_ms=start_ms, cooldown_ms=cooldown_ms
        )
        if item is not None:
            return item
        del candidates[index]  # every fitting item of this collection is cooling down
    return _soonest_available(open_groups, memory, cooldown_ms)


def _pick_weighted(
    candidates: Sequence[tuple[_Group, int]], memory: FillerMemory, seed: int
) -> int:
    """Index of a candidate chosen with probability proportional to its weight."""
    if len(candidates) == 1:
        return 0
    target = memory.next_unit(seed) * sum(g.weight for g, _ in candidates)
    for index, (group, _) in enumerate(candidates):
        target -= group.weight
        if target < 0:
            return index
    return len(candidates) - 1  # float rounding at the top end


def _pick_rested(
    group: _Group, fitting: int, memory: FillerMemory, *, seed: int, start_ms: int, cooldown_ms: int
) -> Playable | None:
    """A uniform pick among the first ``fitting`` items that are out of cooldown, or None.

    For a long prefix a few random tries usually succeed at once, so the prefix is scanned
    only when they fail; a short prefix is scanned straight away.
    """
    for _ in range(_SAMPLES if fitting > _SAMPLES else 0):
        item = group.items[memory.next_index(seed, fitting)]
        if memory.available_at(item.id, cooldown_ms) <= start_ms:
            return item
    rested = [
        item
        for item in group.items[:fitting]
        if memory.available_at(item.id, cooldown_ms) <= start_ms
    ]
    return rested[memory.next_index(seed, len(rested))] if rested else None


def _soonest_available(
    open_groups: Sequence[tuple[_Group, int]], memory: FillerMemory, cooldown_ms: int
) -> Playable | None:
    """The fitting item whose cooldown ends first (ties: lowest id), or None if none fits."""
    fitting = (item for group, n in open_groups for item in group.items[:n])
    return min(
        fitting,
        key=lambda item: (memory.available_at(item.id, cooldown_ms), item.id),
        default=None,
    )


def mid_roll_breaks(item: Playable, preset: FillerPreset) -> tuple[int, ...]:
    """Offsets (ms into ``item``) of its mid-roll breaks, strictly increasing.

    With ``preset.mid_roll_every_minutes`` unset, breaks go at the item's chapter starts;
    otherwise every that many minutes of content. Either way no break lands within
    :data:`EDGE_GUARD_MS` (30 s) of the start or the end, so a break never just precedes
    the credits' last seconds or follows the first frame. Raises ``ValueError`` for a
    non-positive interval.
    """
    last = item.duration_ms - EDGE_GUARD_MS
    every = preset.mid_roll_every_minutes
    if every is None:
        return tuple(sorted({c for c in item.chapters_ms if EDGE_GUARD_MS <= c <= last}))
    if every <= 0:
        raise ValueError(f"mid_roll_every_minutes must be positive, got {every}")
    step = every * MINUTE_MS
    first = max(step, EDGE_GUARD_MS)
    return tuple(range(first, last + 1, step)) if first <= last else ()


def tail_target_ms(at_ms: int, preset: FillerPreset, utc_offset_ms: int) -> int:
    """Where a tail pad starting at ``at_ms`` (UTC ms) should end (UTC ms), never earlier.

    With ``tail_boundary_minutes`` B: the first multiple of B minutes of local wall-clock
    time (``at_ms + utc_offset_ms``, the offset in effect at ``at_ms``) at or after
    ``at_ms``, so a pad already on a boundary is empty. Otherwise, with
    ``tail_fixed_seconds``: ``at_ms`` plus that length. With neither: ``at_ms``.
    Raises ``ValueError`` for a non-positive boundary or a negative fixed length.
    """
    boundary = preset.tail_boundary_minutes
    if boundary is not None:
        if boundary <= 0:
            raise ValueError(f"tail_boundary_minutes must be positive, got {boundary}")
        return at_ms + (-(at_ms + utc_offset_ms)) % (boundary * MINUTE_MS)
    fixed = preset.tail_fixed_seconds
    if fixed is None:
        return at_ms
    if fixed < 0:
        raise ValueError(f"tail_fixed_seconds must not be negative, got {fixed}")
    return at_ms + fixed * 1000
