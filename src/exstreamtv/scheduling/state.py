"""The persisted build cursor, and the engine's only source of randomness.

A build resumes exactly where the previous one stopped because everything it needs is in
:class:`BuildState`: where the timeline ends, where the schedule is, each enumerator's
``(seed, index)``, the filler cooldown memory, and the next guide group number. The state is
plain data with a JSON form (``to_json``/``from_json``) for the database.

Randomness is :func:`mix`: a stateless SplitMix64 hash of ``(seed, n)``, so the n-th draw
of a stream never depends on how many draws happened before in this process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

_MASK = (1 << 64) - 1


def mix(seed: int, n: int) -> int:
    """A well-mixed 64-bit value determined only by ``seed`` and ``n`` (SplitMix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + (n + 1) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def unit(seed: int, n: int) -> float:
    """A float in [0, 1) determined by ``seed`` and ``n``."""
    return (mix(seed, n) >> 11) / float(1 << 53)


@dataclass(frozen=True, slots=True)
class EnumeratorState:
    """Where an enumerator is: draws made so far (``index``) under ``seed``.

    ``children`` hold the positions of the collections of a multi-collection rotation.
    """

    seed: int
    index: int = 0
    children: tuple[EnumeratorState, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seed": self.seed, "index": self.index}
        if self.children:
            data["children"] = [child.to_json() for child in self.children]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnumeratorState:
        return cls(
            seed=int(data["seed"]),
            index=int(data.get("index", 0)),
            children=tuple(cls.from_json(c) for c in data.get("children", ())),
        )


@dataclass(frozen=True, slots=True)
class BuildState:
    """Everything a build needs to continue a timeline exactly.

    * ``next_ms``: where the timeline ends (UTC ms); the next entry starts here.
    * ``position``: index of the schedule element in progress (item, or block entry).
    * ``remaining``: items still to play for that element (``multiple``, block entries),
      or -1 when the element has not started.
    * ``element_start_ms``: when the element in progress began (fixed starts and
      ``duration`` windows are measured from it), or ``None``.
    * ``enumerators``: position per content source key.
    * ``filler_last_played``: media id to the end (ms) of its last filler play, for
      cooldowns; entries older than the longest cooldown are dropped.
    * ``guide_group``: the next guide group number.
    * ``draws``: how many filler draws were made (the filler random stream's index).
    """

    next_ms: int
    position: int = 0
    remaining: int = -1
    element_start_ms: int | None = None
    enumerators: tuple[tuple[str, EnumeratorState], ...] = ()
    filler_last_played: tuple[tuple[int, int], ...] = ()
    guide_group: int = 0
    draws: int = 0
    extra: tuple[tuple[str, int], ...] = field(default=())

    def with_enumerator(self, key: str, state: EnumeratorState) -> BuildState:
        others = tuple((k, s) for k, s in self.enumerators if k != key)
        return replace(self, enumerators=tuple(sorted((*others, (key, state)))))

    def enumerator(self, key: str) -> EnumeratorState | None:
        for k, s in self.enumerators:
            if k == key:
                return s
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "next_ms": self.next_ms,
            "position": self.position,
            "remaining": self.remaining,
            "element_start_ms": self.element_start_ms,
            "enumerators": {k: s.to_json() for k, s in self.enumerators},
            "filler_last_played": [[m, t] for m, t in self.filler_last_played],
            "guide_group": self.guide_group,
            "draws": self.draws,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildState:
        start = data.get("element_start_ms")
        return cls(
            next_ms=int(data["next_ms"]),
            position=int(data.get("position", 0)),
            remaining=int(data.get("remaining", -1)),
            element_start_ms=None if start is None else int(start),
            enumerators=tuple(
                sorted(
                    (str(k), EnumeratorState.from_json(v))
                    for k, v in data.get("enumerators", {}).items()
                )
            ),
            filler_last_played=tuple(
                (int(m), int(t)) for m, t in data.get("filler_last_played", ())
            ),
            guide_group=int(data.get("guide_group", 0)),
            draws=int(data.get("draws", 0)),
            extra=tuple(sorted((str(k), int(v)) for k, v in data.get("extra", {}).items())),
        )
