"""The back-off after wrong credentials, on a hand-moved clock."""

from __future__ import annotations

import pytest

from exstreamtv.errors import TooManyAttempts
from exstreamtv.metrics import Metrics
from exstreamtv.services.sign_in_attempts import SignInAttempts
from tests.seeding import ManualClock


def _retry_after(attempts: SignInAttempts, address: str) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        attempts.check(address, "admin_key")
    return refused.value.retry_after


def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_the_cap() -> None:
    clock, metrics = ManualClock(), Metrics()
    attempts = SignInAttempts(clock, metrics, free=2, base_sec=1, max_sec=8)
    waits = []
    for _ in range(7):
        attempts.failed("192.0.2.1", "admin_key")
        try:
            attempts.check("192.0.2.1", "admin_key")
            waits.append(0)
        except TooManyAttempts as err:  # locked out: note the wait, then sit it out
            waits.append(err.retry_after)
            clock.ticks += err.retry_after
    assert waits == [0, 0, 1, 2, 4, 8, 8]
    assert metrics.auth_failures.labels("admin_key")._value.get() == 7
    assert metrics.auth_throttled.labels("admin_key")._value.get() == 5


def test_a_success_forgets_and_other_addresses_are_never_held_up() -> None:
    clock = ManualClock()
    attempts = SignInAttempts(clock, Metrics(), free=1)
    attempts.failed("2001:db8::1", "sign_in")
    attempts.failed("2001:db8::2", "sign_in")  # the same /64: one client
    assert _retry_after(attempts, "2001:db8::99") == 1
    attempts.check("2001:db9::1", "sign_in")  # another network
    attempts.check("192.0.2.1", "sign_in")
    attempts.succeeded("2001:db8::5")
    attempts.check("2001:db8::1", "sign_in")


def test_the_table_of_addresses_is_bounded() -> None:
    attempts = SignInAttempts(ManualClock(), Metrics(), free=0, max_addresses=3)
    for n in range(10):
        attempts.failed(f"192.0.2.{n}", "access_token")
    assert len(attempts._records) == 3
    assert _retry_after(attempts, "192.0.2.9") >= 1
    attempts.check("192.0.2.0", "access_token")  # forgotten first
