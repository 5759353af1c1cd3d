"""``/api/channel-plans``: a channel from a sentence, previewed before anything is saved.

``POST`` a sentence to get a plan (collections chosen from the library, a weekly slots
schedule, filler, the next 24 hours it would air); nothing is stored until ``POST
.../{id}/apply`` with ``{"confirm": true}``. Plans expire after an hour and are applied at
most once (404 afterwards). A sentence naming nothing in the library is a 422 whose detail
says what was not found or understood.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.web.channel_plan_schemas import ApplyIn, PlanIn, PlanOut
from exstreamtv.web.deps import ContainerDep, require_admin
from exstreamtv.web.schemas import ChannelOut

router = APIRouter(
    prefix="/api/channel-plans", tags=["channel plans"], dependencies=[Depends(require_admin)]
)
PlanId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A plan's id.")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def propose(body: PlanIn, app: ContainerDep) -> PlanOut:
    """Plan a channel from a sentence; nothing is saved."""
    return PlanOut.of(await app.channel_plans.propose(body.sentence, body.timezone))


@router.get("/{plan_id}")
async def plan(plan_id: PlanId, app: ContainerDep) -> PlanOut:
    """A plan waiting for confirmation (404 when expired or applied)."""
    return PlanOut.of(app.channel_plans.proposal(plan_id))


@router.post("/{plan_id}/apply", status_code=status.HTTP_201_CREATED)
async def apply(plan_id: PlanId, body: ApplyIn, app: ContainerDep) -> ChannelOut:
    """Create the channel, its collections, filler and schedule, and build its playout.
    409 when the number is taken."""
    number = ChannelNumber.parse(body.number) if body.number else None
    return ChannelOut.of(await app.channel_plans.apply(plan_id, name=body.name, number=number))


@router.delete("/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
async def discard(plan_id: PlanId, app: ContainerDep) -> None:
    """Forget a plan without creating anything."""
    app.channel_plans.discard(plan_id)
