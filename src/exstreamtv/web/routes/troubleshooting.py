"""``POST /api/troubleshoot`` (answers from logs and state) and ``GET /api/logs`` (recent,
redacted log records)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from exstreamtv.agent.metadata_resolution import ResolutionTicket
from exstreamtv.services.troubleshooting import MAX_QUESTION_CHARS
from exstreamtv.web.deps import ContainerDep, require_admin

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
