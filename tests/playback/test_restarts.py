"""The restart limits: global throttle, per-channel cooldown, circuit breaker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.playback.restarts import BreakerState, RestartLimits, RestartPolicy


def test_channel_cooldown_is_30_seconds() -> None:
    policy = RestartPolicy()
    assert policy.allow("5", 100.0).allowed
    denied = policy.allow("5", 129.0)
    assert (denied.allowed, denied.reason) == (False, "channel cooldown")
    assert abs(denied.retry_after - 1.0) < 1e-9
    assert policy.allow("5", 130.0).allowed


def test_global_throttle_allows_10_restarts_per_60_seconds() -> None:
    policy = RestartPolicy()
    for n in range(10):
        assert policy.allow(f"ch{n}", 1000.0 + n).allowed
    denied = policy.allow("ch10", 1010.0)
    assert (denied.allowed, denied.reason) == (False, "global restart throttle")
    assert abs(denied.retry_after - 50.0) < 1e-9
    assert policy.allow("ch10", 1060.0).allowed
    assert policy.velocity(1060.0) == 10.0


def test_breaker_opens_after_five_failures_in_300s() -> None:
    policy = RestartPolicy()
    for t in (0.0, 60.0, 120.0, 180.0):
        policy.record_failure("7", t)
        assert policy.breaker_state("7", t) is BreakerState.CLOSED
    policy.record_failure("7", 240.0)
    assert policy.breaker_state("7", 240.0) is BreakerState.OPEN
    denied = policy.allow("7", 300.0)
    assert (denied.allowed, denied.reason) == (False, "circuit breaker open")
    assert abs(denied.retry_after - 60.0) < 1e-9


def test_failures_older_than_the_window_do_not_count() -> None:
    policy = RestartPolicy()
    for t in (0.0, 100.0, 200.0, 300.0, 400.0, 500.0):
        policy.record_failure("7", t)
    assert policy.breaker_state("7", 500.0) is BreakerState.CLOSED


def test_open_breaker_turns_half_open_after_120s_and_allows_exactly_one_trial() -> None:
    policy = RestartPolicy()
    for t in range(5):
        policy.record_failure("7", float(t))
    assert policy.breaker_state("7", 123.0) is BreakerState.OPEN
    assert policy.breaker_state("7", 124.0) is BreakerState.HALF_OPEN
    assert policy.allow("7", 124.0).allowed
    second = policy.allow("7", 200.0)
    assert (second.allowed, second.reason) == (False, "circuit breaker half-open: trial running")


def test_successful_trial_closes_the_breaker() -> None:
    policy = RestartPolicy()
    for t in range(5):
        policy.record_failure("7", float(t))
    assert policy.allow("7", 130.0).allowed
    policy.record_success("7")
    assert policy.breaker_state("7", 131.0) is BreakerState.CLOSED
    assert policy.allow("7", 161.0).allowed


def test_failed_trial_opens_the_breaker_again_for_120s() -> None:
    policy = RestartPolicy()
    for t in range(5):
        policy.record_failure("7", float(t))
    assert policy.allow("7", 130.0).allowed
    policy.record_failure("7", 131.0)
    assert policy.breaker_state("7", 250.0) is BreakerState.OPEN
    assert policy.breaker_state("7", 251.0) is BreakerState.HALF_OPEN


def test_channels_have_independent_breakers_and_cooldowns() -> None:
    policy = RestartPolicy()
    for t in range(5):
        policy.record_failure("a", float(t))
    assert policy.allow("b", 10.0).allowed
    assert not policy.allow("a", 10.0).allowed


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 1000)), max_size=200))
def test_never_more_than_the_global_limit_in_any_window(requests: list[tuple[str, float]]) -> None:
    limits = RestartLimits()
    policy = RestartPolicy(limits)
    granted = [t for channel, t in sorted(requests, key=lambda r: r[1])
               if policy.allow(channel, t).allowed]  # fmt: skip
    for start in granted:
        in_window = [t for t in granted if start <= t < start + limits.global_window]
        assert len(in_window) <= limits.global_max


def test_a_stopped_channel_keeps_its_breaker_until_its_state_no_longer_matters() -> None:
    policy = RestartPolicy()
    for t in (0.0, 1.0, 2.0, 3.0, 4.0):
        policy.record_failure("7", t)
    assert not policy.forget("7", 5.0)  # open breaker: kept
    assert policy.breaker_state("7", 5.0) is BreakerState.OPEN
    assert not policy.forget("7", 200.0)  # half-open: kept
    assert policy.allow("7", 200.0).allowed
    policy.record_success("7")
    assert not policy.forget("7", 210.0)  # closed, but the cooldown still runs
    assert policy.forget("7", 231.0)
    assert policy.breaker_state("7", 231.0) is BreakerState.CLOSED


def test_a_stopped_channel_with_recent_failures_keeps_them() -> None:
    policy = RestartPolicy()
    for t in (0.0, 1.0, 2.0, 3.0):
        policy.record_failure("7", t)
    assert not policy.forget("7", 10.0)
    policy.record_failure("7", 11.0)  # the fifth failure still counts after a re-tune
    assert policy.breaker_state("7", 11.0) is BreakerState.OPEN
    assert not policy.forget("7", 1000.0)  # half-open until a trial succeeds: kept


def test_a_trial_cut_short_by_a_stop_leaves_the_next_start_a_new_trial() -> None:
    policy = RestartPolicy()
    for t in range(5):
        policy.record_failure("7", float(t))
    assert policy.allow("7", 200.0).allowed  # the trial starts, then the last viewer leaves
    assert policy.trial_running("7")
    assert not policy.forget("7", 201.0)  # half-open: kept, but the trial was never judged
    assert not policy.trial_running("7")
    assert policy.breaker_state("7", 300.0) is BreakerState.HALF_OPEN
    assert policy.allow("7", 300.0).allowed  # a re-tune gets its trial
    policy.record_success("7")
    assert policy.breaker_state("7", 300.0) is BreakerState.CLOSED
