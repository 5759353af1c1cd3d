"""Every test here fails if an event-loop callback blocks for more than 100 ms."""

from tests.slow_callbacks import fail_on_slow_callbacks

__all__ = ["fail_on_slow_callbacks"]
