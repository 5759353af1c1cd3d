"""Tuner accounting: distinct channels hold tuners, viewers share them, the limit holds."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.playback.tuners import TunerPool, TunersBusy


def test_viewers_of_one_channel_share_a_tuner() -> None:
    pool = TunerPool(1)
    pool.acquire("5")
    pool.acquire("5")
    assert pool.status().channels == {"5": 2}
    with pytest.raises(TunersBusy, match="all 1 tuners are in use; channel 6"):
        pool.acquire("6")


def test_tuner_is_freed_with_the_last_viewer() -> None:
    pool = TunerPool(1)
    first = pool.acquire("5")
    second = pool.acquire("5")
    first.release()
    first.release()  # a second release of one slot gives back nothing more
    with pytest.raises(TunersBusy):
        pool.acquire("6")
    second.release()
    pool.acquire("6")
    assert pool.status().channels == {"6": 1}


def test_a_removed_channel_frees_its_tuner_at_once_and_late_releases_count_nothing() -> None:
    pool = TunerPool(1)
    old = [pool.acquire("5"), pool.acquire("5")]
    assert pool.release_channel("5") == 2
    renewed = pool.acquire("5")  # the number is free again: a re-created channel tunes
    for slot in old:  # the old viewers' streams end later and release their slots
        slot.release()
    assert pool.status().channels == {"5": 1}
    renewed.release()
    assert pool.status().in_use == 0


def test_lease_releases_even_when_the_stream_fails() -> None:
    pool = TunerPool(1)
    with pytest.raises(RuntimeError), pool.lease("5"):
        raise RuntimeError("viewer went away")
    assert pool.status().in_use == 0


async def test_concurrent_tunes_never_take_more_tuners_than_exist() -> None:
    pool = TunerPool(2)
    started = asyncio.Event()

    async def tune(channel: str) -> str:
        await started.wait()
        try:
            pool.acquire(channel)
        except TunersBusy:
            return "busy"
        return "ok"

    tasks = [asyncio.create_task(tune(str(n))) for n in range(20)]
    started.set()
    results = await asyncio.gather(*tasks)
    assert results.count("ok") == 2 and pool.status().in_use == 2


@given(st.lists(st.tuples(st.booleans(), st.sampled_from("abcde")), max_size=200))
def test_in_use_never_exceeds_the_count(operations: list[tuple[bool, str]]) -> None:
    pool, held = TunerPool(3), []
    for take, channel in operations:
        if take:
            try:
                held.append(pool.acquire(channel))
            except TunersBusy:
                assert all(slot.channel != channel for slot in held)
                assert pool.status().in_use == 3
        else:
            mine = [slot for slot in held if slot.channel == channel]
            if mine:
                held.remove(mine[0])
                mine[0].release()
        assert pool.status().in_use <= 3
        names = [slot.channel for slot in held]
        assert pool.status().channels == {c: names.count(c) for c in set(names)}
