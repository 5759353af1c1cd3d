"""Reading a catch-up request: the instants IPTV apps substitute, the span, the window."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.catchup import (
    DAY_MS,
    DEFAULT_SPAN,
    MAX_SPAN,
    SEGMENT_MS,
    CatchupSpan,
    check_window,
    parse_instant,
    parse_span,
)
from exstreamtv.domain.playout import to_ms
from exstreamtv.errors import Gone, InvalidInput

NOW = to_ms(datetime(2026, 12, 7, 20, 0, tzinfo=UTC))
SECONDS = st.integers(min_value=0, max_value=4_000_000_000)


@given(SECONDS)
def test_unix_seconds_and_iso_8601_with_any_offset_name_the_same_instant(seconds: int) -> None:
    moment = datetime.fromtimestamp(seconds, UTC)
    assert parse_instant(str(seconds), "start") == seconds * 1000
    assert parse_instant(moment.isoformat(), "start") == seconds * 1000
    shifted = moment.astimezone(timezone(timedelta(hours=-5, minutes=-30)))
    assert parse_instant(shifted.isoformat(), "start") == seconds * 1000
    assert parse_instant(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "start") == seconds * 1000


def test_fractional_seconds_are_kept_to_the_millisecond() -> None:
    assert parse_instant("1765130400.25", "start") == 1_765_130_400_250


@pytest.mark.parametrize(
    "text",
    ["", " ", "yesterday", "-5", "1e9", "0x10", "2026-12-07T20:00:00", "9" * 13, "１２３",
     "2026-12-07T20:00:00Z&end=1", "{utc}", "${start}", "NaN", "inf"],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_parameter(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^start: "):
        parse_instant(text, "start")


@given(SECONDS, st.integers(min_value=1, max_value=int(MAX_SPAN.total_seconds())))
def test_end_and_duration_give_the_same_span(start: int, length: int) -> None:
    by_end = parse_span(str(start), end=str(start + length))
    by_duration = parse_span(str(start), duration=str(length))
    assert by_end == by_duration == CatchupSpan(start * 1000, (start + length) * 1000)
    assert by_end.duration_ms == length * 1000


def test_a_start_alone_asks_for_the_default_span() -> None:
    span = parse_span("1765130400")
    assert span.duration_ms == DEFAULT_SPAN / timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("end", "duration", "message"),
    [
        ("1765130400", None, "after start"),
        ("1765130399", None, "after start"),
        (None, "0", "after start"),
        (None, "-60", "duration"),
        (None, "ten", "duration"),
        ("1765130460", "60", "not both"),
        (str(1765130400 + int(MAX_SPAN.total_seconds()) + 1), None, "at most"),
    ],
)
def test_empty_negative_doubled_and_overlong_spans_are_refused(
    end: str | None, duration: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_span("1765130400", end, duration)


@given(
    st.integers(min_value=1, max_value=31), st.integers(min_value=-40 * DAY_MS, max_value=DAY_MS)
)
def test_the_window_is_the_kept_past_only(days: int, offset_ms: int) -> None:
    span = CatchupSpan(NOW + offset_ms, NOW + offset_ms + 60_000)
    if offset_ms >= 0:
        with pytest.raises(InvalidInput, match="past"):
            check_window(span, NOW, days)
    elif offset_ms < -days * DAY_MS:
        with pytest.raises(Gone, match=f"last {days} day"):
            check_window(span, NOW, days)
    else:
        check_window(span, NOW, days)


def test_viewers_of_one_span_of_one_channel_share_a_key_and_no_one_else_does() -> None:
    span = parse_span("1765130400", duration="1800")
    assert span.key("5") == parse_span("1765130400", end="1765132200").key("5")
    assert span.key("5") != span.key("5.1")
    assert span.key("5") != parse_span("1765130401", duration="1799").key("5")


@given(
    st.integers(min_value=0, max_value=NOW),
    st.integers(min_value=1, max_value=int(MAX_SPAN.total_seconds() * 1000)),
)
def test_hls_segments_tile_the_span_on_a_fixed_grid(start_ms: int, length_ms: int) -> None:
    span = CatchupSpan(start_ms, start_ms + length_ms)
    parts = [span.segment(n) for n in range(span.segment_count)]
    assert parts[0].start_ms == span.start_ms and parts[-1].end_ms == span.end_ms
    for before, after in itertools.pairwise(parts):
        assert before.end_ms == after.start_ms  # no gap, no overlap
    assert all(part.duration_ms == SEGMENT_MS for part in parts[:-1])
    assert 0 < parts[-1].duration_ms <= SEGMENT_MS
    with pytest.raises(InvalidInput):
        span.segment(span.segment_count)
    with pytest.raises(InvalidInput):
        span.segment(-1)


@given(st.integers(min_value=-SEGMENT_MS, max_value=30 * SEGMENT_MS))
def test_only_wholly_aired_segments_count_as_aired(elapsed_ms: int) -> None:
    span = CatchupSpan(NOW, NOW + 20 * SEGMENT_MS + 1)
    aired = span.aired_segments(NOW + elapsed_ms)
    if elapsed_ms >= span.duration_ms:
        assert aired == span.segment_count
    else:
        assert aired == max(0, elapsed_ms // SEGMENT_MS)
        assert aired == 0 or span.segment(aired - 1).end_ms <= NOW + elapsed_ms
