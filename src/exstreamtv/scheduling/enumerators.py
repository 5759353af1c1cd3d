"""Enumerators: the endless sequence of items a content source plays.

An enumerator is a cursor over one source. ``peek()`` shows the next item, ``advance()``
consumes it, and ``state`` is the position to persist. The n-th item depends only on the
usable items, the order, the state's ``seed`` and ``n``. Randomness comes from
:func:`~exstreamtv.scheduling.state.mix`, so an enumerator rebuilt from a persisted state
continues exactly where the previous one stopped.

The sequence is divided into *epochs* of ``N`` items, where ``N`` is the number of usable
items: index ``i`` is position ``i % N`` of epoch ``i // N``. If a collection changes
between builds, the index is kept and the same formulas apply with the new ``N``. Playback
continues at once, but the current epoch may be rearranged: items can repeat or be skipped
once at that point.
"""

from __future__ import annotations

import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import ContentSource, PlaybackOrder
from exstreamtv.scheduling.state import EnumeratorState, mix

_T = TypeVar("_T")


class Enumerator(Protocol):
    """A cursor over the endless item sequence of one content source."""

    def peek(self) -> Playable | None:
        """The next item, without consuming it. ``None`` when the source has no usable item."""
        ...

    def advance(self) -> None:
        """Consume the item ``peek()`` returned. Does nothing when the source is empty."""
        ...

    @property
    def state(self) -> EnumeratorState:
        """The position after the consumed items, to persist and resume from."""
        ...


def enumerator_for(
    source: ContentSource,
    collections: Mapping[int, Sequence[Playable]],
    state: EnumeratorState | None,
    seed: int,
) -> Enumerator:
    """An enumerator for ``source``, resuming from ``state`` (fresh when ``None``).

    ``seed`` is used only for a fresh start. The state's seed is then
    ``mix(seed, crc32(source.key))``, so each source gets its own random stream. A collection
    id that is missing from ``collections`` counts as empty. Every order enumerates the
    union of the source's collections, except ``rotate``, which takes one item from each
    collection in turn (see :class:`_Rotation`).
    """
    if state is None:
        state = EnumeratorState(seed=mix(seed, zlib.crc32(source.key.encode())))
    if source.order is not PlaybackOrder.ROTATE:
        union = [item for cid in source.collection_ids for item in collections.get(cid, ())]
        return _Collection(source.order, union, state)
    children = [
        _Collection(
            PlaybackOrder.SEASON_EPISODE,
            collections.get(cid, ()),
            state.children[i] if i < len(state.children) else _child_state(state.seed, cid),
        )
        for i, cid in enumerate(source.collection_ids)
    ]
    return _Rotation(children, state.seed, state.index)


def _child_state(parent_seed: int, collection_id: int) -> EnumeratorState:
    """The fresh position of a rotation's child. Its seed is derived from the parent's."""
    return EnumeratorState(seed=mix(parent_seed, collection_id))


def usable(items: Iterable[Playable]) -> list[Playable]:
    """The items that can be scheduled, in input order.

    Duplicate ids keep their first occurrence. An item is usable only if ``duration_ms > 0``.
    """
    seen: set[int] = set()
    kept: list[Playable] = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            if item.duration_ms > 0:
                kept.append(item)
    return kept


def chronological_key(item: Playable) -> tuple[bool, int, str, int]:
    """Sort key for CHRONOLOGICAL order: year (unknown last), then title (casefolded), then id."""
    return (item.year is None, item.year or 0, item.title.casefold(), item.id)


def episode_key(item: Playable) -> tuple[bool, str, bool, int, bool, int, str, int]:
    """Sort key for SEASON_EPISODE order: show (items without one after all shows), season,
    episode (unknown last), title (casefolded), id."""
    return (
        item.show is None,
        (item.show or "").casefold(),
        item.season is None,
        item.season or 0,
        item.episode is None,
        item.episode or 0,
        item.title.casefold(),
        item.id,
    )


def _shuffled(values: Sequence[_T], seed: int) -> list[_T]:
    """A Fisher-Yates permutation of ``values``. The step at ``i`` uses ``mix(seed, i)``."""
    return [values[at] for at in PERMUTATIONS.get(len(values), seed)]


class Permutations:
    """The Fisher-Yates permutations of ``range(n)`` under a seed, remembered up to a total
    of ``budget`` indices (least recently used dropped first).

    A permutation depends only on ``(n, seed)``, and every build of a shuffled channel
    needs its current epoch's: the hourly extension of a thousand channels would otherwise
    redo a hash per item of every channel's collection to place two or three episodes.
    Indices are kept as 4-byte arrays (a 10,000-item epoch costs 40 KB); builds may run in
    worker threads, hence the lock."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._kept: OrderedDict[tuple[int, int], array[int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Indices held."""
        return self._size

    def get(self, n: int, seed: int) -> array[int]:
        key = (n, seed)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        order = array("I", range(n))
        for i in range(n - 1, 0, -1):
            j = mix(seed, i) % (i + 1)
            order[i], order[j] = order[j], order[i]
        if n <= self.budget:
            with self._lock:
                if key not in self._kept:
                    self._kept[key] = order
                    self._size += n
                while self._size > self.budget:
                    _, dropped = self._kept.popitem(last=False)
                    self._size -= len(dropped)
        return order


PERMUTATION_BUDGET = 1_000_000  # indices (4 MB): a thousand channels of 1,000 items each
PERMUTATIONS = Permutations(PERMUTATION_BUDGET)


def _shuffle_epochs(items: Sequence[Playable], seed: int) -> Callable[[int], list[Playable]]:
    """SHUFFLE: epoch ``e`` permutes ``items`` (sorted by id), seeded by ``mix(seed, e)``.

    An epoch never starts with the item that ended the previous one. If the permutation
    would, its first item is swapped with one at a position in ``[1, N-2]`` chosen by
    ``mix``. The last position never moves, so the previous epoch's last item depends only
    on that epoch's seed. With Fisher-Yates running downwards, that item is
    ``items[mix(seed', N-1) % N]``. With two items, alternation is the only way to avoid
    a repeat, so every epoch is epoch 0's permutation.
    """
    n = len(items)

    def build(epoch: int) -> list[Playable]:
        if n == 2:
            epoch = 0
        order = _shuffled(items, mix(seed, epoch))
        if n > 2 and epoch > 0:
            previous_last = items[mix(mix(seed, epoch - 1), n - 1) % n]
            if order[0].id == previous_last.id:
                j = 1 + mix(mix(seed, epoch), n) % (n - 2)
                order[0], order[j] = order[j], order[0]
        return order

    return build


def _interleave_epochs(items: Sequence[Playable], seed: int) -> Callable[[int], list[Playable]]:
    """SHUFFLE_IN_ORDER: shows are interleaved at random, and each keeps its episode order.

    Items are grouped by show (casefolded). An item without a show, such as a movie, is a
    group of its own. Epoch ``e`` shuffles the multiset of group labels (one label per item)
    with ``mix(seed, e)`` and then deals each group's items in order. The result has the
    same distribution as picking a group with probability proportional to its remaining
    items at each step, but takes O(N).
    """
    groups: dict[object, list[Playable]] = {}
    for item in sorted(items, key=episode_key):
        label: object = item.id if item.show is None else item.show.casefold()
        groups.setdefault(label, []).append(item)
    ordered = list(groups.values())
    labels = [g for g, group in enumerate(ordered) for _ in group]

    def build(epoch: int) -> list[Playable]:
        cursors = [0] * len(ordered)
        out: list[Playable] = []
        for g in _shuffled(labels, mix(seed, epoch)):
            out.append(ordered[g][cursors[g]])
            cursors[g] += 1
        return out

    return build


def _epochs(
    order: PlaybackOrder, items: list[Playable], seed: int
) -> Callable[[int], list[Playable]]:
    """The function from epoch number to that epoch's items, for the non-RANDOM orders.

    ``items`` are sorted by id, which makes every order independent of input order.
    ``ROTATE`` is enumerated by :class:`_Rotation`, whose children use ``SEASON_EPISODE``.
    """
    if order is PlaybackOrder.SHUFFLE:
        return _shuffle_epochs(items, seed)
    if order is PlaybackOrder.SHUFFLE_IN_ORDER:
        return _interleave_epochs(items, seed)
    key = chronological_key if order is PlaybackOrder.CHRONOLOGICAL else episode_key
    fixed = sorted(items, key=key)
    return lambda _epoch: fixed


class _Collection:
    """Enumerates one collection (or a union of several). Items are sorted once, and each
    epoch is built once and cached.

    RANDOM draws ``items[mix(seed, index) % N]`` directly. Items are sorted by id first, so
    the draw does not depend on the order the items came in.
    """

    __slots__ = ("_build", "_cached", "_epoch", "_index", "_items", "_order", "_seed")

    def __init__(
        self, order: PlaybackOrder, items: Iterable[Playable], state: EnumeratorState
    ) -> None:
        self._order = order
        self._items = sorted(usable(items), key=lambda item: item.id)
        self._seed = state.seed
        self._index = state.index
        self._build = _epochs(order, self._items, state.seed) if self._items else None
        self._epoch = -1
        self._cached: list[Playable] = []

    @property
    def empty(self) -> bool:
        return not self._items

    def peek(self) -> Playable | None:
        n = len(self._items)
        if self._build is None:
            return None
        if self._order is PlaybackOrder.RANDOM:
            return self._items[mix(self._seed, self._index) % n]
        epoch, position = divmod(self._index, n)
        if epoch != self._epoch:
            self._cached = self._build(epoch)
            self._epoch = epoch
        return self._cached[position]

    def advance(self) -> None:
        if self._items:
            self._index += 1

    @property
    def state(self) -> EnumeratorState:
        return EnumeratorState(seed=self._seed, index=self._index)


class _Rotation:
    """ROTATE: one item from each collection in turn (A, B, C, A, ...), each collection in
    season/episode order.

    Draw ``i`` comes from the ``(i % k)``-th of the ``k`` non-empty children, listed in the
    source's collection order. Empty children are skipped. Each child keeps its own position
    in ``state.children``, one per collection id. The parent ``index`` counts draws. If the
    set of non-empty children changes between builds, the same formula continues with the
    new ``k``.
    """

    __slots__ = ("_children", "_index", "_live", "_seed")

    def __init__(self, children: list[_Collection], seed: int, index: int) -> None:
        self._children = children
        self._live = [child for child in children if not child.empty]
        self._seed = seed
        self._index = index

    def _current(self) -> _Collection | None:
        if not self._live:
            return None
        return self._live[self._index % len(self._live)]

    def peek(self) -> Playable | None:
        child = self._current()
        return None if child is None else child.peek()

    def advance(self) -> None:
        child = self._current()
        if child is not None:
            child.advance()
            self._index += 1

    @property
    def state(self) -> EnumeratorState:
        return EnumeratorState(
            seed=self._seed,
            index=self._index,
            children=tuple(child.state for child in self._children),
        )
