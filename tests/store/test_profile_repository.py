"""Stream profiles and channel watermarks in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, select, text

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.profiles import (
    DEFAULT_PROFILE,
    AudioCodec,
    Corner,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
    WatermarkStyle,
)
from exstreamtv.errors import Conflict, InvalidInput, NotFound
from exstreamtv.services.container import Container, open_container
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.database import MIGRATIONS_DIR, create_engine, transaction, upgrade_schema
from exstreamtv.store.profiles import ProfileRepository
from exstreamtv.store.tables import StreamProfileRow
from tests.support import build_settings

NEWS = StreamProfile(
    name="Nachrichten · ニュース 📺", mode=ProfileMode.TRANSCODE,
    video_encoder=VideoEncoder.H264_NVENC, width=640, height=360, fps=29.97,
    video_bitrate_kbps=1500, gop_seconds=3, preset="fast", audio_codec=AudioCodec.AC3,
    audio_bitrate_kbps=192, audio_channels=1, sample_rate=44100, loudnorm=True,
)  # fmt: skip
INSERT_CHANNEL = (
    "INSERT INTO channels (number, number_major, number_minor, name, enabled, created_at,"
    " updated_at) VALUES ('7', 7, -1, 'Seven', :on, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


async def test_a_profile_round_trips_with_every_field(container: Container) -> None:
    async with transaction(container.sessions) as session:
        created = await ProfileRepository(session).create(NEWS)
    async with container.sessions() as session:
        assert await ProfileRepository(session).get(created.id) == created
    assert created.profile == NEWS and not created.is_default

    renamed = StreamProfile(name="News", width=1920, height=1080, mode=ProfileMode.COPY)
    async with transaction(container.sessions) as session:
        await ProfileRepository(session).update(created.id, renamed)
    async with container.sessions() as session:
        repo = ProfileRepository(session)
        assert (await repo.get(created.id)).profile == renamed
        assert [p.profile.name for p in await repo.all()] == ["default", "News"]
    async with transaction(container.sessions) as session:
        await ProfileRepository(session).delete(created.id)
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await ProfileRepository(session).get(created.id)


async def test_the_builtin_profile_is_the_default_and_reads_as_default_profile(
    container: Container,
) -> None:
    async with transaction(container.sessions) as session:
        ensured = await ProfileRepository(session).ensure_default()
        again = await ProfileRepository(session).ensure_default()
    assert ensured == again
    assert ensured.is_default and ensured.profile == DEFAULT_PROFILE
    async with container.sessions() as session:
        stored = await session.scalar(select(StreamProfileRow.settings))
    assert stored is not None and stored["width"] == DEFAULT_PROFILE.width  # written out


async def test_exactly_one_profile_is_default_and_the_default_cannot_be_deleted(
    container: Container,
) -> None:
    async with transaction(container.sessions) as session:
        repo = ProfileRepository(session)
        builtin = await repo.ensure_default()
        other = await repo.create(NEWS)
        await repo.make_default(other.id)
    async with container.sessions() as session:
        repo = ProfileRepository(session)
        assert {p.id: p.is_default for p in await repo.all()} == {builtin.id: False, other.id: True}
        with pytest.raises(Conflict, match="default and cannot be deleted"):
            await repo.delete(other.id)


async def test_a_profile_in_use_is_not_deleted_and_the_refusal_names_the_channels(
    container: Container,
) -> None:
    async with transaction(container.sessions) as session:
        profile = await ProfileRepository(session).create(NEWS)
        channels = ChannelRepository(session)
        for number in ("12", "3.1"):
            fields = ChannelFields(ChannelNumber.parse(number), "Ch", stream_profile_id=profile.id)
            await channels.create(fields, container.clock.now())
    async with container.sessions() as session:
        with pytest.raises(Conflict, match=r"channel\(s\) 3.1, 12"):
            await ProfileRepository(session).delete(profile.id)


async def test_a_channel_watermark_round_trips_and_is_refused_on_a_copy_profile(
    container: Container,
) -> None:
    mark = WatermarkStyle(Corner.TOP_LEFT, 0.4)
    async with transaction(container.sessions) as session:
        copy = await ProfileRepository(session).create(
            StreamProfile("Remux", mode=ProfileMode.COPY)
        )
        channels = ChannelRepository(session)
        fields = ChannelFields(ChannelNumber(4), "Four", watermark=mark)
        created = await channels.create(fields, container.clock.now())
    assert created.watermark == mark
    async with container.sessions() as session:
        assert (await ChannelRepository(session).get(ChannelNumber(4))).watermark == mark
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        on_copy = ChannelFields(ChannelNumber(4), "Four", stream_profile_id=copy.id, watermark=mark)
        with pytest.raises(InvalidInput, match="copy mode"):
            await ChannelRepository(session).update(ChannelNumber(4), on_copy, now)


def _alembic(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def test_upgrading_from_0002_keeps_channels_without_watermark_and_marks_the_default(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0002")
        async with engine.begin() as conn:
            await conn.execute(text(INSERT_CHANNEL), {"on": True})
        await upgrade_schema(engine, "0003")
        async with engine.begin() as conn:
            # 0003 can be undone and redone on this database
            await conn.run_sync(lambda sync: command.downgrade(_alembic(sync), "0002"))
        await upgrade_schema(engine)
    finally:
        await engine.dispose()
    async with open_container(build_settings(tmp_path / "data", database_url)) as container:
        (channel,) = await container.channels.channels()
        assert (channel.name, channel.watermark) == ("Seven", None)
        async with container.sessions() as session:
            default = await ProfileRepository(session).default()
        assert default is not None and default.profile == DEFAULT_PROFILE
