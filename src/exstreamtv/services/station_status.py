"""The station at a glance: what each channel airs, who watches, FFmpeg, scans, warnings.

Everything is read from the owners of each fact (the playout rows through ``now``, the
live channels, the supervisor, the library service, the guide, the metrics); nothing here
keeps state of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from exstreamtv.domain.channels import Channel
from exstreamtv.domain.libraries import Library
from exstreamtv.domain.playout import BuildWarning
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideLinks
from exstreamtv.services.library import ScanProgress
from exstreamtv.services.playouts import OnAir


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One channel: what is on now (``None`` when nothing is scheduled), its latest build's
    warnings, its viewers (0 when not streaming) and its restart breaker state."""

    channel: Channel
    at: datetime
    on_air: OnAir | None
    warnings: tuple[BuildWarning, ...]
    live: bool
    viewers: int
    breaker: str


@dataclass(frozen=True, slots=True)
class LibraryStatus:
    library: Library
    scan: ScanProgress | None


@dataclass(frozen=True, slots=True)
class StationStatus:
    """``restarts``: restarts allowed since start-up (``restarts_denied`` refused ones);
    ``guide_failures``: guide validation failures since start-up; ``guide_problem``: why
    the guide is refused right now, or ``None`` when it validates."""

    channels: list[ChannelStatus]
    libraries: list[LibraryStatus]
    viewers: int
    live_channels: int
    ffmpeg_processes: int
    ffmpeg_max: int
    restarts: int
    restarts_denied: int
    guide_failures: int
    guide_problem: str | None


async def station_status(container: Container, links: GuideLinks) -> StationStatus:
    """Collect the status (one playout lookup and one info query per channel)."""
    at = container.clock.now()
    sessions = container.live.sessions
    channels = []
    for channel in await container.channels.channels():
        key = str(channel.number)
        session = sessions.get(key)
        channels.append(
            ChannelStatus(
                channel=channel, at=at, on_air=await container.playouts.now(channel.number, at),
                warnings=(await container.playouts.info(channel.number)).warnings,
                live=session is not None, viewers=session.viewers if session else 0,
                breaker=container.supervisor.breaker_state(key).value,
            )
        )  # fmt: skip
    libraries = [
        LibraryStatus(library, container.libraries.progress(library.id))
        for library in await container.libraries.libraries()
    ]
    metrics = container.metrics
    guide_problem = await _guide_problem(container, links)  # before counting its failure
    return StationStatus(
        channels=channels, libraries=libraries, viewers=container.live.viewer_count(),
        live_channels=len(sessions), ffmpeg_processes=container.supervisor.process_count,
        ffmpeg_max=container.settings.ffmpeg.max_processes,
        restarts=_total(metrics.restarts, outcome="allowed"),
        restarts_denied=_total(metrics.restarts, outcome="denied"),
        guide_failures=_total(metrics.guide_validation_failures),
        guide_problem=guide_problem,
    )  # fmt: skip


async def _guide_problem(container: Container, links: GuideLinks) -> str | None:
    """Why the guide is refused now (served from the guide's cache when it is fresh)."""
    try:
        await container.guide.xmltv(links)
    except XMLTVValidationError as err:
        return err.message
    return None


def _total(counter: Counter, **labels: str) -> int:
    """The sum of ``counter``'s samples whose labels include ``labels``."""
    total = 0.0
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and labels.items() <= sample.labels.items():
                total += sample.value
    return int(total)
