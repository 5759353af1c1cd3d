"""Metadata health: the ratios, the early-warning thresholds, drift and lookups by source."""

from __future__ import annotations

import pytest

from exstreamtv.domain.media import MediaKind, MetadataSource, MetadataStatus
from exstreamtv.domain.metadata_health import (
    HealthWarning,
    LookupSource,
    MetadataSample,
    combine,
    drifted,
    health_report,
    is_placeholder_title,
    lookups,
    unknown_sample,
)


def episode(n: int | None = 1) -> MetadataSample:
    return MetadataSample(MediaKind.EPISODE, f"Episode {n}", episode=n)


def movie(year: int | None = 2001) -> MetadataSample:
    return MetadataSample(MediaKind.MOVIE, "A Film", year=year)


def placeholder() -> MetadataSample:
    return MetadataSample(MediaKind.OTHER, "clip", status=MetadataStatus.PLACEHOLDER)


def failed() -> MetadataSample:
    return MetadataSample(MediaKind.OTHER, "clip", status=MetadataStatus.FAILED, probed=False)


def test_an_empty_report_has_zero_ratios_and_no_warning() -> None:
    report = health_report([])
    assert report.failure_ratio == 0.0
    assert report.warnings() == ()


def test_failure_ratio_counts_failed_and_placeholder_samples_over_all_samples() -> None:
    report = health_report([failed(), placeholder(), movie(), movie()])
    assert report.failures == 2
    assert report.failure_ratio == pytest.approx(0.5)
    assert report.placeholder_ratio == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Item 12", True), ("  ", True), ("", True), ("Item", False), ("Items 12", False)],
)
def test_placeholder_titles_are_blank_or_the_upstream_item_number(
    title: str, expected: bool
) -> None:
    assert is_placeholder_title(title) is expected
    sample = MetadataSample(MediaKind.MOVIE, title, year=2000)
    assert health_report([sample]).placeholders == int(expected)


def test_a_programme_whose_media_is_gone_is_a_placeholder_with_no_lookups() -> None:
    report = health_report([unknown_sample()])
    assert report.placeholders == 1
    assert report.failures == 1
    assert report.lookups == {}


def test_more_than_5_percent_episodes_without_number_warns_and_5_percent_does_not() -> None:
    at_limit = [episode(None)] + [episode(i) for i in range(19)]  # 1/20 = 5%
    assert health_report(at_limit).missing_episode_ratio == pytest.approx(0.05)
    assert HealthWarning.MISSING_EPISODE not in health_report(at_limit).warnings()
    above = [episode(None)] + [episode(i) for i in range(18)]  # 1/19 > 5%
    assert HealthWarning.MISSING_EPISODE in health_report(above).warnings()


def test_missing_year_counts_movies_only() -> None:
    at_limit = [movie(None)] + [movie() for _ in range(19)]
    assert HealthWarning.MISSING_YEAR not in health_report(at_limit).warnings()
    above = [movie(None)] + [movie() for _ in range(18)]
    assert HealthWarning.MISSING_YEAR in health_report(above).warnings()
    episodes_without_year = [episode(i) for i in range(10)]
    assert health_report(episodes_without_year).missing_year == 0


def test_more_than_10_placeholder_titles_warn_and_10_do_not() -> None:
    padding = [movie() for _ in range(200)]  # keeps the failure ratio far below 0.3
    ten = health_report([placeholder() for _ in range(10)] + padding)
    assert ten.warnings() == ()
    eleven = health_report([placeholder() for _ in range(11)] + padding)
    assert eleven.warnings() == (HealthWarning.PLACEHOLDERS,)


def test_failure_ratio_above_0_3_warns_and_exactly_0_3_does_not() -> None:
    exactly = health_report([failed() for _ in range(3)] + [movie() for _ in range(7)])
    assert exactly.failure_ratio == pytest.approx(0.3)
    assert HealthWarning.FAILURE_RATIO not in exactly.warnings()
    above = health_report([failed() for _ in range(4)] + [movie() for _ in range(6)])
    assert above.warnings() == (HealthWarning.FAILURE_RATIO,)


def test_drift_is_a_rise_of_more_than_0_1_never_the_first_cycle() -> None:
    assert not drifted(None, 0.9)
    assert not drifted(0.2, 0.3)  # exactly 0.1
    assert drifted(0.2, 0.31)
    assert not drifted(0.5, 0.1)


def test_lookups_record_each_source_consulted_with_its_result() -> None:
    nfo_ok = MetadataSample(MediaKind.MOVIE, "Film", source=MetadataSource.NFO, year=1999)
    nfo_broken = MetadataSample(
        MediaKind.MOVIE, "Film", status=MetadataStatus.FAILED, reason="NFO: not XML"
    )
    by_name = MetadataSample(MediaKind.MOVIE, "Film", source=MetadataSource.FOLDER)
    from_server = MetadataSample(MediaKind.MOVIE, "Film", source=MetadataSource.SERVER)
    unprobed = placeholder()
    unprobed = MetadataSample(unprobed.kind, unprobed.title, unprobed.status, probed=False)
    assert dict(lookups(nfo_ok)) == {
        LookupSource.SCAN: True,
        LookupSource.PROBE: True,
        LookupSource.NFO: True,
    }
    assert dict(lookups(nfo_broken))[LookupSource.NFO] is False
    assert dict(lookups(nfo_broken))[LookupSource.SCAN] is False
    assert dict(lookups(by_name))[LookupSource.FILENAME] is True
    assert dict(lookups(from_server))[LookupSource.SERVER] is True
    assert dict(lookups(unprobed)) == {
        LookupSource.SCAN: True,
        LookupSource.PROBE: False,
        LookupSource.FILENAME: False,
    }
    report = health_report([nfo_ok, nfo_broken, by_name, from_server, unprobed])
    assert report.lookups[(LookupSource.SCAN, True)] == 4
    assert report.lookups[(LookupSource.SCAN, False)] == 1


def test_the_global_report_combines_channel_reports() -> None:
    a = health_report([failed(), movie()])
    b = health_report([episode(None), episode(2), movie(None)])
    both = combine([a, b])
    assert both == health_report([failed(), movie(), episode(None), episode(2), movie(None)])
    assert both.failure_ratio == pytest.approx(1 / 5)
