"""``/api/channels``: channels, addressed by their number (``5`` or ``5.1``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.web.deps import ContainerDep, NumberPath, require_admin
from exstreamtv.web.schemas import ChannelIn, ChannelOut, ChannelPatch

router = APIRouter(prefix="/api/channels", tags=["channels"], dependencies=[Depends(require_admin)])


@router.get("")
async def list_channels(app: ContainerDep) -> list[ChannelOut]:
    """Every channel in number order."""
    return [ChannelOut.of(c) for c in await app.channels.channels()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_channel(body: ChannelIn, app: ContainerDep) -> ChannelOut:
    """Create a channel; 409 when the number is taken."""
    return ChannelOut.of(await app.channels.create(body.to_fields()))


@router.get("/{number}")
async def get_channel(number: NumberPath, app: ContainerDep) -> ChannelOut:
    return ChannelOut.of(await app.channels.channel(number))


@router.put("/{number}")
async def update_channel(number: NumberPath, body: ChannelIn, app: ContainerDep) -> ChannelOut:
    """Replace a channel's fields; the number may change (409 if the new one is taken).
    A field left out takes its default (no watermark, no logo): use PATCH to change some."""
    return ChannelOut.of(await app.channels.update(number, body.to_fields()))


@router.patch("/{number}")
async def patch_channel(number: NumberPath, body: ChannelPatch, app: ContainerDep) -> ChannelOut:
    """Change only the fields sent; everything else (the watermark too) is kept."""
    return ChannelOut.of(
        await app.channels.update(number, body.apply(await app.channels.channel(number)))
    )


@router.delete("/{number}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(number: NumberPath, app: ContainerDep) -> Response:
    """Delete a channel and its playout."""
    await app.channels.delete(number)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
