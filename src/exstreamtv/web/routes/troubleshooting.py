"""``POST /api/troubleshoot`` (answers from logs and state), ``GET /api/logs`` (recent,
redacted log records), troubleshooting playback and the bug-report zip."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from exstreamtv.agent.metadata_resolution import ResolutionTicket
from exstreamtv.errors import NotFound
from exstreamtv.services.playback_trials import MAX_SECONDS, Trial
from exstreamtv.services.station_status import station_status
from exstreamtv.services.troubleshooting import MAX_QUESTION_CHARS
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.routes.iptv import links
from exstreamtv.web.routes.status import StatusOut
from exstreamtv.web.schemas import MAX_ID

router = APIRouter(tags=["troubleshooting"], dependencies=[Depends(require_admin)])
MAX_LOG_LIMIT = 500


class TroubleshootIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class FindingOut(BaseModel):
    issue: str
    count: int
    channels: list[str]


class TroubleshootOut(BaseModel):
    """The answer and the evidence lines behind it. ``mode`` is ``rules`` or ``llm``.

    ``triggered_resolution`` is true only when this question started a metadata
    self-resolution run or joined one already under way; ``resolution`` then says which
    (``started``, ``joined``) and ``resolution_run_id`` names the run (``GET
    /api/agent/runs``). A refused request has the refusal's code in ``resolution`` (for
    example ``cooldown``); a question that did not ask has ``null``."""

    answer: str
    evidence: list[str]
    findings: list[FindingOut]
    triggered_resolution: bool
    resolution: str | None
    resolution_run_id: int | None
    mode: str


class LogRecordOut(BaseModel):
    seq: int
    time: datetime
    level: str
    logger: str
    message: str
    channel: str | None


class LogsOut(BaseModel):
    records: list[LogRecordOut]


@router.post("/api/troubleshoot")
async def troubleshoot(body: TroubleshootIn, app: ContainerDep) -> TroubleshootOut:
    """Answer a question about the server from its recent logs and current state."""
    found = await app.troubleshooting.answer(body.question)
    return TroubleshootOut(
        answer=found.answer,
        evidence=list(found.evidence),
        findings=[
            FindingOut(issue=f.issue.value, count=f.count, channels=list(f.channels))
            for f in found.findings
        ],
        triggered_resolution=found.triggered_resolution,
        resolution=_resolution(found.resolution),
        resolution_run_id=found.resolution.run_id if found.resolution else None,
        mode=found.mode,
    )


def _resolution(ticket: ResolutionTicket | None) -> str | None:
    if ticket is None:
        return None
    return ticket.reason if ticket.status == "refused" else ticket.status


@router.get("/api/logs")
async def logs(
    app: ContainerDep,
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text to look for.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_LIMIT)] = 100,
) -> LogsOut:
    """The newest records (oldest first) at ``level`` or above containing ``q``. Secrets
    are redacted before a record is kept."""
    found = app.log_ring.records(level=level, text=q, limit=limit)
    return LogsOut(
        records=[
            LogRecordOut(
                seq=e.seq,
                time=e.time,
                level=e.level,
                logger=e.logger,
                message=e.message,
                channel=e.channel,
            )
            for e in found
        ]
    )


class TrialIn(BaseModel):
    """A troubleshooting playback: ``seconds`` (1-30) of media item ``media_id`` from
    ``start_sec``, with stream profile ``profile_id`` (``null``: the default)."""

    model_config = ConfigDict(extra="forbid")

    media_id: int = Field(ge=1, le=MAX_ID)
    profile_id: int | None = Field(None, ge=1, le=MAX_ID)
    start_sec: float = Field(0, ge=0, le=7 * 24 * 3600)
    seconds: int = Field(MAX_SECONDS, ge=1, le=MAX_SECONDS)


class TechnicalOut(BaseModel):
    """What ffprobe says of a file (``null`` fields: not present or not known)."""

    model_config = ConfigDict(from_attributes=True)

    duration_ms: int
    container: str | None
    video_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    pixel_format: str | None
    audio_codec: str | None
    audio_channels: int | None
    sample_rate: int | None


class TrialOut(BaseModel):
    """A troubleshooting playback. ``status``: ``running``, ``succeeded`` or ``failed``
    (``error`` says why). ``command`` and ``log`` have every secret replaced; ``source`` is
    a fresh probe of the item, ``output`` of what FFmpeg wrote (played at ``output_url``);
    ``speed`` is media seconds made per second of wall time."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    media_id: int
    title: str
    profile: str
    start_ms: int
    duration_ms: int
    started_at: datetime
    status: Literal["running", "succeeded", "failed"]
    command: list[str]
    command_line: str
    log: str
    source: TechnicalOut | None
    source_problem: str | None
    output: TechnicalOut | None
    output_bytes: int
    elapsed_sec: float
    speed: float | None
    exit_status: int | None
    error: str | None
    output_url: str | None = None

    @classmethod
    def of(cls, trial: Trial) -> TrialOut:
        found = cls.model_validate(trial)
        if trial.status == "succeeded":
            found.output_url = f"/api/troubleshooting/playback/{trial.id}/output.ts"
        return found


@router.post("/api/troubleshooting/playback", status_code=status.HTTP_202_ACCEPTED)
async def start_trial(body: TrialIn, app: ContainerDep) -> TrialOut:
    """Play up to 30 s of any media item with any profile through a channel's pipeline, in
    the background (poll it). 404 for an unknown item or profile, 503 while one runs."""
    trial = await app.trials.start(
        body.media_id, body.profile_id, start_sec=body.start_sec, seconds=body.seconds
    )
    return TrialOut.of(trial)


@router.get("/api/troubleshooting/playback")
async def list_trials(app: ContainerDep) -> list[TrialOut]:
    """The kept troubleshooting playbacks (the last five), newest first."""
    return [TrialOut.of(t) for t in app.trials.trials]


@router.get("/api/troubleshooting/playback/{trial_id}")
async def get_trial(trial_id: IdPath, app: ContainerDep) -> TrialOut:
    return TrialOut.of(app.trials.trial(trial_id))


@router.get("/api/troubleshooting/playback/{trial_id}/output.ts", response_class=FileResponse)
async def trial_output(trial_id: IdPath, app: ContainerDep) -> FileResponse:
    """The MPEG-TS a finished playback wrote (404 while it runs or when it failed)."""
    trial = app.trials.trial(trial_id)
    if trial.status != "succeeded" or trial.file is None:
        raise NotFound(f"troubleshooting playback {trial_id} has no output ({trial.status})")
    return FileResponse(trial.file, media_type="video/mp2t", headers={"Cache-Control": "no-store"})


@router.get("/api/troubleshooting/report.zip", response_class=Response)
async def report(request: Request, app: ContainerDep) -> Response:
    """A zip for a bug report: recent logs, settings, the station's state and the kept
    troubleshooting playbacks; every secret replaced."""
    station = await station_status(app, links(request, app))
    data = await app.trials.report({"station": StatusOut.of(station).model_dump(mode="json")})
    headers = {
        "Content-Disposition": 'attachment; filename="exstreamtv-report.zip"',
        "Cache-Control": "no-store",
    }
    return Response(data, media_type="application/zip", headers=headers)
