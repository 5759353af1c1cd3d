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
    pool.acquire("5")
    pool.acquire("5")
    pool.release("5")
    with pytest.raises(TunersBusy):
        pool.acquire("6")
    pool.release("5")
    pool.acquire("6")
    assert pool.status().channels == {"6": 1}


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
                pool.acquire(channel)
                held.append(channel)
            except TunersBusy:
                assert channel not in held and pool.status().in_use == 3
        elif channel in held:
            held.remove(channel)
            pool.release(channel)
        assert pool.status().in_use <= 3
        assert pool.status().channels == {c: held.count(c) for c in set(held)}
