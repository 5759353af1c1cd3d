"""Metadata health: how much of what a channel airs (or a library holds) is well described.

Pure: samples in, a :class:`HealthReport` out. A *sample* is one media item of the library,
or one content programme of a generated guide (the media item behind it).

Definitions (the numbers operators alert on):

* **placeholder**: a sample whose title is a stand-in: metadata status ``placeholder`` (only
  the bare file name was found), a blank title, the upstream ``Item 123`` form, or a
  programme whose media item no longer exists (shown as "To Be Announced").
* **metadata failure**: a sample whose metadata status is ``failed`` (the file, its probe
  or its NFO could not be read) or that is a placeholder.
* ``metadata_failure_ratio`` = metadata failures / samples, in 0..1 (0 when there are no
  samples). For a guide, samples are the content programmes of the horizon, so an item that
  airs five times counts five times: the ratio is what viewers see.
* ``placeholder_ratio`` = placeholders / samples.
* ``missing_episode_ratio`` = episodes without an episode number / episodes.
* ``missing_year_ratio`` = movies without a year / movies. Only movies count: the year is
  what guide clients match films on, while episodes are matched on their numbers and often
  have no year of their own.

**Early warning** (:data:`EARLY_WARNING`): any of ``missing_episode_ratio > 0.05``,
``missing_year_ratio > 0.05``, ``placeholders > 10`` (a count), ``metadata_failure_ratio >
0.3``. **Drift**: the ratio rising by more than 0.1 from one guide generation to the next.

**Lookups by source**: each sample records one lookup per source consulted, as a success or a
failure: ``scan`` (the file was read: failure when the status is ``failed``), ``probe``
(ffprobe gave technical data), ``nfo`` (metadata came from an NFO; failure when the NFO was
malformed), ``filename`` (a title came from the file or folder name; failure when only a
placeholder could be made), ``server`` (metadata came from a media server).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exstreamtv.domain.media import MediaItem, MediaKind, MetadataSource, MetadataStatus

PLACEHOLDER_TITLE = re.compile(r"Item \d+")
"""The upstream's "title" for an item without one; never a real title."""
DRIFT_THRESHOLD = 0.1


class LookupSource(enum.StrEnum):
    """Where a metadata lookup went."""

    SCAN = "scan"
    PROBE = "probe"
    NFO = "nfo"
    FILENAME = "filename"
    SERVER = "server"


class HealthWarning(enum.StrEnum):
    """Which early-warning rule fired."""

    MISSING_EPISODE = "missing_episode"
    MISSING_YEAR = "missing_year"
    PLACEHOLDERS = "placeholders"
    FAILURE_RATIO = "failure_ratio"


@dataclass(frozen=True, slots=True)
class EarlyWarningRules:
    """The early-warning thresholds (ratios in 0..1; ``max_placeholders`` a count).

    Every comparison is strict: a value equal to its threshold does not fire.
    """

    max_missing_episode_ratio: float = 0.05
    max_missing_year_ratio: float = 0.05
    max_placeholders: int = 10
    max_failure_ratio: float = 0.3


EARLY_WARNING = EarlyWarningRules()


@dataclass(frozen=True, slots=True)
class MetadataSample:
    """What health needs to know about one item (or one programme's item).

    ``known`` is False for a programme whose media item no longer exists.
    """

    kind: MediaKind
    title: str
    status: MetadataStatus = MetadataStatus.OK
    source: MetadataSource = MetadataSource.FILENAME
    reason: str | None = None
    probed: bool = True
    episode: int | None = None
    year: int | None = None
    known: bool = True


def sample_of(item: MediaItem) -> MetadataSample:
    """The health sample of a stored media item."""
    meta = item.metadata
    return MetadataSample(
        kind=meta.kind,
        title=meta.title,
        status=meta.status,
        source=meta.source,
        reason=meta.reason,
        probed=item.technical is not None,
        episode=meta.episode,
        year=meta.year,
    )


def unknown_sample() -> MetadataSample:
    """The sample of a programme whose media item is gone (a placeholder, no lookups)."""
    return MetadataSample(MediaKind.OTHER, "", known=False)


def is_placeholder_title(title: str) -> bool:
    """True for a blank title or the upstream ``Item 123`` stand-in."""
    cleaned = title.strip()
    return not cleaned or PLACEHOLDER_TITLE.fullmatch(cleaned) is not None


def is_placeholder(sample: MetadataSample) -> bool:
    """See the module docstring: status placeholder, a stand-in title, or unknown media."""
    return (
        not sample.known
        or sample.status is MetadataStatus.PLACEHOLDER
        or is_placeholder_title(sample.title)
    )


def is_failure(sample: MetadataSample) -> bool:
    return sample.status is MetadataStatus.FAILED or is_placeholder(sample)


def lookups(sample: MetadataSample) -> list[tuple[LookupSource, bool]]:
    """The lookups ``sample`` records, as (source, succeeded); see the module docstring."""
    if not sample.known:
        return []
    found = [
        (LookupSource.SCAN, sample.status is not MetadataStatus.FAILED),
        (LookupSource.PROBE, sample.probed),
    ]
    nfo_failed = (sample.reason or "").startswith("NFO:")
    if sample.source is MetadataSource.NFO or nfo_failed:
        found.append((LookupSource.NFO, not nfo_failed))
    if sample.source in (MetadataSource.FILENAME, MetadataSource.FOLDER):
        found.append((LookupSource.FILENAME, not is_placeholder(sample)))
    if sample.source is MetadataSource.SERVER:
        found.append((LookupSource.SERVER, sample.status is MetadataStatus.OK))
    return found


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Counts over a set of samples, with the derived ratios and fired warnings."""

    samples: int = 0
    failures: int = 0
    placeholders: int = 0
    episodes: int = 0
    missing_episode: int = 0
    movies: int = 0
    missing_year: int = 0
    lookups: Mapping[tuple[LookupSource, bool], int] = field(default_factory=dict)

    @property
    def failure_ratio(self) -> float:
        """``metadata_failure_ratio``: failures / samples (0..1)."""
        return _ratio(self.failures, self.samples)

    @property
    def placeholder_ratio(self) -> float:
        return _ratio(self.placeholders, self.samples)

    @property
    def missing_episode_ratio(self) -> float:
        return _ratio(self.missing_episode, self.episodes)

    @property
    def missing_year_ratio(self) -> float:
        return _ratio(self.missing_year, self.movies)

    def warnings(self, rules: EarlyWarningRules = EARLY_WARNING) -> tuple[HealthWarning, ...]:
        """The early-warning rules this report breaks, in a fixed order."""
        fired = (
            (
                HealthWarning.MISSING_EPISODE,
                self.missing_episode_ratio > rules.max_missing_episode_ratio,
            ),
            (HealthWarning.MISSING_YEAR, self.missing_year_ratio > rules.max_missing_year_ratio),
            (HealthWarning.PLACEHOLDERS, self.placeholders > rules.max_placeholders),
            (HealthWarning.FAILURE_RATIO, self.failure_ratio > rules.max_failure_ratio),
        )
        return tuple(name for name, hit in fired if hit)


def health_report(samples: Iterable[MetadataSample]) -> HealthReport:
    """Count ``samples`` into a report."""
    total = failures = placeholders = episodes = no_episode = movies = no_year = 0
    counted: dict[tuple[LookupSource, bool], int] = {}
    for sample in samples:
        total += 1
        failures += is_failure(sample)
        placeholders += is_placeholder(sample)
        if sample.kind is MediaKind.EPISODE:
            episodes += 1
            no_episode += sample.episode is None
        elif sample.kind is MediaKind.MOVIE:
            movies += 1
            no_year += sample.year is None
        for key in lookups(sample):
            counted[key] = counted.get(key, 0) + 1
    return HealthReport(
        total, failures, placeholders, episodes, no_episode, movies, no_year, counted
    )


def combine(reports: Iterable[HealthReport]) -> HealthReport:
    """One report over the union of the samples of ``reports`` (the global report)."""
    total = HealthReport()
    counted: dict[tuple[LookupSource, bool], int] = {}
    for report in reports:
        for key, count in report.lookups.items():
            counted[key] = counted.get(key, 0) + count
        total = HealthReport(
            total.samples + report.samples,
            total.failures + report.failures,
            total.placeholders + report.placeholders,
            total.episodes + report.episodes,
            total.missing_episode + report.missing_episode,
            total.movies + report.movies,
            total.missing_year + report.missing_year,
        )
    return HealthReport(
        total.samples, total.failures, total.placeholders, total.episodes,
        total.missing_episode, total.movies, total.missing_year, counted,
    )  # fmt: skip


def drifted(previous: float | None, current: float) -> bool:
    """True when the failure ratio rose by more than :data:`DRIFT_THRESHOLD` since the
    previous guide generation (never on the first one)."""
    return previous is not None and current - previous > DRIFT_THRESHOLD
