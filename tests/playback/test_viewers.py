"""Fan-out bookkeeping: bytes delivered and viewers dropped are reported."""

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
    fan.add(b"")
    fan.add(b"")
    fan.send(b"a" * 600)
    assert sent == [1200] and dropped == []
    fan.send(b"b" * 600)  # over 1000 queued: both viewers are dropped
    assert sent == [1200] and dropped == ["x", "x"] and emptied == [True] and len(fan) == 0
