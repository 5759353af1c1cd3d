"""Anomaly clustering: spikes per (channel, issue) in a sliding window, with bounded memory."""

from __future__ import annotations

import threading

import pytest

from exstreamtv.agent.anomalies import AnomalyDetector


def test_a_spike_starts_at_the_threshold_within_the_window_and_is_reported_once() -> None:
    detector = AnomalyDetector(window=60, threshold=3)
    assert [detector.record("5", "ffmpeg_error", t) for t in (0, 10, 20, 21)] == [
        False, False, True, False
    ]  # fmt: skip
    (spike,) = detector.spikes(now=21)
    assert (spike.channel, spike.issue, spike.count) == ("5", "ffmpeg_error", 3)


def test_events_spread_wider_than_the_window_never_spike() -> None:
    detector = AnomalyDetector(window=60, threshold=3)
    assert not any(detector.record("5", "metadata", t * 31.0) for t in range(20))
    assert detector.spikes(now=20 * 31.0) == []


def test_keys_are_separate_per_channel_and_issue() -> None:
    detector = AnomalyDetector(window=60, threshold=2)
    detector.record("1", "metadata", 0)
    detector.record("2", "metadata", 1)
    detector.record("1", "tuning_failure", 2)
    assert detector.spikes(now=2) == []
    assert detector.record("1", "metadata", 3)


def test_a_spike_ends_when_the_window_slides_past_and_can_start_again() -> None:
    detector = AnomalyDetector(window=10, threshold=2)
    assert detector.record(None, "source_failure", 0) is False
    assert detector.record(None, "source_failure", 1) is True
    assert detector.spikes(now=30) == []
    assert detector.record(None, "source_failure", 40) is False
    assert detector.record(None, "source_failure", 41) is True


def test_memory_stays_bounded_in_keys_and_events_per_key() -> None:
    detector = AnomalyDetector(window=1e9, threshold=4, max_keys=16)
    for n in range(10_000):
        detector.record(str(n % 1000), f"issue{n % 7}", float(n))
    assert len(detector) == 16
    assert detector.events_held() <= 16 * 4


def test_concurrent_recording_from_threads_loses_no_spike() -> None:
    detector = AnomalyDetector(window=1e9, threshold=400)
    spikes: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(100):
            started = detector.record("9", "ffmpeg_error", 1.0)
            with lock:
                spikes.append(started)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert spikes.count(True) == 1


@pytest.mark.parametrize("bad", [{"window": 0}, {"threshold": 0}, {"max_keys": 0}])
def test_non_positive_limits_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        AnomalyDetector(**bad)  # type: ignore[arg-type]
