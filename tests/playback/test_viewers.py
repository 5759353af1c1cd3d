"""Fan-out bookkeeping: bytes delivered and viewers dropped are reported; a viewer is
dropped for lagging (seconds behind) or for its queue's size, the others never."""

from __future__ import annotations

from exstreamtv.playback.viewers import FanOut


def test_fan_out_reports_bytes_delivered_and_viewers_dropped() -> None:
    sent: list[int] = []
    dropped: list[str] = []
    emptied: list[bool] = []
    fan = FanOut(
        lambda: emptied.append(True),
        max_bytes=1000,
        on_sent=sent.append,
        on_dropped=lambda: dropped.append("x"),
    )
    fan.add(b"", 0.0)
    fan.add(b"", 0.0)
    fan.send(b"a" * 600, 0.0)
    assert sent == [1200] and dropped == []
    fan.send(b"b" * 600, 0.1)  # over 1000 queued: both viewers are dropped
    assert sent == [1200] and dropped == ["x", "x"] and emptied == [True] and len(fan) == 0


async def test_a_viewer_that_stops_reading_is_dropped_after_the_lag_limit() -> None:
    fan = FanOut(lambda: None, max_bytes=10**9, max_lag=10.0)
    stalled = fan.add(b"", 0.0)
    reading = aiter(fan.add(b"", 0.0))
    for second in range(12):  # one push a second; one viewer reads, the other never does
        fan.send(b"x" * 188, float(second))
        assert await anext(reading) == b"x" * 188
        assert (len(fan) == 2) is (second <= 10)  # 10 s behind is the limit, not before
    assert stalled.dropped and fan.dropped == 1
    assert [chunk async for chunk in stalled] == []  # its stream has ended
