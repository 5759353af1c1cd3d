"""``GET /api/metadata/health``: metadata health of the library, the guide and each channel."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from exstreamtv.domain.metadata_health import HealthReport
from exstreamtv.web.deps import ContainerDep, require_admin

router = APIRouter(prefix="/api/metadata", tags=["metadata"], dependencies=[Depends(require_admin)])


class HealthOut(BaseModel):
    """One scope's report: counts, ratios (0..1), lookups by source and result, and the
    early-warning rules it breaks."""

    samples: int
    metadata_failure_ratio: float
    failures: int
    placeholders: int
    placeholder_ratio: float
    episodes: int
    missing_episode: int
    missing_episode_ratio: float
    movies: int
    missing_year: int
    missing_year_ratio: float
    lookups: dict[str, dict[str, int]]
    early_warning: bool
    warnings: list[str]

    @classmethod
    def of(cls, report: HealthReport) -> HealthOut:
        lookups: dict[str, dict[str, int]] = {}
        for (source, ok), count in sorted(report.lookups.items()):
            lookups.setdefault(source.value, {"success": 0, "failure": 0})
            lookups[source.value]["success" if ok else "failure"] += count
        warnings = [w.value for w in report.warnings()]
        return cls(
            samples=report.samples,
            metadata_failure_ratio=report.failure_ratio,
            failures=report.failures,
            placeholders=report.placeholders,
            placeholder_ratio=report.placeholder_ratio,
            episodes=report.episodes,
            missing_episode=report.missing_episode,
            missing_episode_ratio=report.missing_episode_ratio,
            movies=report.movies,
            missing_year=report.missing_year,
            missing_year_ratio=report.missing_year_ratio,
            lookups=lookups,
            early_warning=bool(warnings),
            warnings=warnings,
        )


class ChannelHealthOut(HealthOut):
    channel_id: int
    number: str
    name: str


class MetadataHealthOut(BaseModel):
    """``global`` covers every enabled channel's programmes over the guide window;
    ``library`` every present media item."""

    made_at: datetime
    global_: HealthOut = Field(serialization_alias="global")
    library: HealthOut
    channels: list[ChannelHealthOut]


@router.get("/health")
async def metadata_health(app: ContainerDep) -> MetadataHealthOut:
    """Metadata health now, from the database (also refreshes the Prometheus gauges)."""
    snapshot = await app.metadata_health.snapshot()
    return MetadataHealthOut(
        made_at=snapshot.made_at,
        global_=HealthOut.of(snapshot.guide),
        library=HealthOut.of(snapshot.library),
        channels=[
            ChannelHealthOut(
                channel_id=c.channel_id,
                number=c.number,
                name=c.name,
                **HealthOut.of(c.report).model_dump(),
            )
            for c in snapshot.channels
        ],
    )
