"""Catch-up over HTTP, as IPTV apps use it: the M3U's catch-up attributes (read by a real M3U
parser), the guide listing the past, and the catch-up URL's answers: every refusal is a
problem with its status and reason, taken before any tuner is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import m3u8
import pytest
from ipytv import playlist  # type: ignore[import-untyped]  # no stubs or py.typed

from exstreamtv.services.catchup import CatchupService
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.streaming import StreamingService
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaRepository
from tests.lineups import movie, on_air, parse_guide
from tests.seeding import T0, ManualClock
from tests.stream_sources import RefusingSource
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory

CATCHUP = "/iptv/channel/{number}/catchup.ts"
CATCHUP_HLS = "/iptv/channel/{number}/catchup.m3u8"


async def refusing_tv(
    make_settings: SettingsFactory, **sections: object
) -> AsyncIterator[tuple[Container, ManualClock, httpx.AsyncClient]]:
    clock = ManualClock()
    settings = make_settings(**{"playout": {"horizon_hours": 2}, **sections})
    async with open_container(settings, clock=clock) as opened:
        refusing = StreamingService(
            opened.channels, opened.streaming.tuners, RefusingSource(), opened.metrics
        )
        object.__setattr__(opened, "streaming", refusing)  # no FFmpeg: answers only
        opened.channels.on_retired(refusing.retire)
        catchup = CatchupService(settings, clock, opened.playouts, refusing)
        object.__setattr__(opened, "catchup", catchup)
        async with open_client(opened) as client:
            yield opened, clock, client


@pytest.fixture
async def tv(
    make_settings: SettingsFactory,
) -> AsyncIterator[tuple[Container, ManualClock, httpx.AsyncClient]]:
    async for opened in refusing_tv(
        make_settings, catchup={"days": 2, "guide_past_hours": 3}, hdhomerun={"tuner_count": 1}
    ):
        yield opened


def unix_at(offset: timedelta) -> str:
    return str(int((T0 + offset).timestamp()))


async def an_hour_after_early(container: Container, clock: ManualClock) -> None:
    """Channel 7 aired "Early" from T0 for 30 minutes; the clock is an hour on."""
    await on_air(container, "7", [movie("Early")], minutes=30)
    clock.advance(timedelta(hours=1))


async def test_the_playlist_offers_catch_up_as_the_apps_read_it_and_the_guide_lists_the_past(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await on_air(container, "7", [movie("Early"), movie("Late")], minutes=30)
    clock.advance(timedelta(hours=2, minutes=10))
    await container.playouts.extend_all()

    parsed = playlist.loads((await client.get("/iptv/channels.m3u")).text)
    (channel,) = parsed.get_channels()
    assert channel.attributes["catchup"] == "default"
    assert channel.attributes["catchup-days"] == "2"
    template = channel.attributes["catchup-source"]
    assert template == "http://localhost/iptv/channel/7/catchup.ts?start={utc}&end={utcend}"

    _, programmes = parse_guide((await client.get("/iptv/xmltv.xml")).content)
    starts = sorted(p.start for p in programmes)
    # At T0 + 2:10 the guide reaches 3 h back from this hour (to T0 - 1 h): it lists all
    # that aired, from T0 on, where one hour back would start at T0 + 1 h.
    assert starts[0] == T0.strftime("%Y%m%d%H%M%S +0000")

    url = template.replace("{utc}", unix_at(timedelta(minutes=30)))
    url = url.replace("{utcend}", unix_at(timedelta(minutes=60)))
    # Every check passed and the stream source was asked: this one refuses with a 503.
    answer = await client.get(url)
    assert assert_problem(answer, 503)["type"] == "urn:exstreamtv:problem:source-unavailable"
    assert container.streaming.tuners.status().in_use == 0


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ({"start": "yesterday"}, 422, "start"),
        ({"start": "2026-03-02T12:00:00"}, 422, "offset"),
        ({"start": unix_at(timedelta(hours=3))}, 422, "past"),  # in the future
        ({"start": unix_at(timedelta(minutes=10)), "end": unix_at(timedelta(minutes=5))}, 422,
         "after start"),
        ({"start": unix_at(timedelta(minutes=10)), "duration": "999999"}, 422, "at most"),
        ({"start": unix_at(timedelta(minutes=-30))}, 410, "before the channel's first build"),
        ({"start": unix_at(timedelta(days=-3))}, 410, "last 2 day"),
        ({"start": "{utc}", "end": "{utcend}"}, 422, "start"),  # a template never filled in
        ({"start": "1" * 41}, 422, "start"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("path", [CATCHUP, CATCHUP_HLS])
async def test_spans_that_cannot_be_replayed_are_refused_with_the_reason(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
    query: dict[str, str],
    status: int,
    reason: str,
    path: str,
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)

    answer = await client.get(path.format(number=7), params=query)

    assert reason in str(assert_problem(answer, status)), answer.text
    assert container.streaming.tuners.status().in_use == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/iptv/channel/7/catchup/0.ts?start=1&end=2", 404),  # no such replay running
        ("/iptv/channel/7/catchup/-1.ts?start=1&end=2", 422),
        ("/iptv/channel/7/catchup/0.ts?start=-1&end=2", 422),
        ("/iptv/channel/7/catchup/0.ts?start=1&end=99999999999999999999", 422),
        ("/iptv/channel/7/catchup/0.ts?start=1", 422),
        ("/iptv/channel/7/catchup/..%2F..%2Fetc%2Fpasswd.ts?start=1&end=2", 404),
        ("/iptv/channel/..%2F7/catchup/0.ts?start=1&end=2", 404),
    ],
)
async def test_replay_segments_that_are_not_there_or_hostile_are_refused(
    tv: tuple[Container, ManualClock, httpx.AsyncClient], path: str, status: int
) -> None:
    _, _, client = tv
    assert_problem(await client.get(path), status)


async def test_an_hls_catch_up_lists_the_aired_span_and_its_audience_holds_one_tuner(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)
    query = {"start": unix_at(timedelta()), "end": unix_at(timedelta(minutes=30))}

    alone = await client.get("/iptv/channel/7/catchup/0.ts", params=segment_query(query))
    assert assert_problem(alone, 503)["type"].endswith("source-unavailable")
    assert container.streaming.tuners.status().in_use == 0  # a refused first request: given back
    answer = await client.get(CATCHUP_HLS.format(number=7), params=query)
    assert answer.status_code == 200, answer.text
    playlist = m3u8.loads(answer.text)
    segment = await client.get(f"/iptv/channel/7/{playlist.segments[3].uri}")
    busy = await client.get(CATCHUP.format(number=7), params=query)  # the one tuner is taken

    assert playlist.playlist_type == "vod" and playlist.is_endlist
    assert len(playlist.segments) == 300  # 30 minutes of 6 s segments, listed at once
    assert playlist.segments[0].current_program_date_time == T0
    assert playlist.segments[-1].current_program_date_time == T0 + timedelta(minutes=29, seconds=54)
    assert assert_problem(segment, 503)["type"].endswith("source-unavailable")
    assert container.streaming.tuners.status().in_use == 1  # the audience keeps its tuner
    assert_problem(busy, 503)


def segment_query(query: dict[str, str]) -> dict[str, str]:
    """The segment URL's span (ms) for a playlist asked for with ``query`` (Unix seconds)."""
    return {key: f"{value}000" for key, value in query.items()}


async def test_a_programme_whose_file_went_missing_since_it_aired_is_gone(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    channel = await on_air(container, "7", [movie("Lost"), movie("Kept")], minutes=30)
    clock.advance(timedelta(hours=1, minutes=5))
    lost = await container.playouts.now(channel.number, T0 + timedelta(minutes=1))
    assert lost is not None and lost.playing.entry.media_id is not None
    async with transaction(container.sessions) as session:
        await MediaRepository(session).mark_missing([lost.playing.entry.media_id], T0, "gone")

    gone = await client.get(CATCHUP.format(number=7), params={"start": unix_at(timedelta())})
    kept = await client.get(
        CATCHUP.format(number=7), params={"start": unix_at(timedelta(minutes=30))}
    )

    assert lost.media is not None
    assert f"'{lost.media.title}'" in assert_problem(gone, 410)["detail"]
    assert assert_problem(kept, 503)["type"].endswith("source-unavailable")  # it would play


async def test_unknown_and_disabled_channels_are_not_found(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)
    await client.patch("/api/channels/7", json={"enabled": False})
    start = {"start": unix_at(timedelta(minutes=1))}

    assert_problem(await client.get(CATCHUP.format(number=8), params=start), 404)
    assert_problem(await client.get(CATCHUP.format(number=7), params=start), 404)
    assert_problem(await client.get(CATCHUP.format(number="../7"), params=start), 404)


async def test_when_every_tuner_is_busy_a_replay_is_refused_like_a_tune(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)
    held = container.streaming.tuners.acquire("9")  # the only tuner, on another channel

    answer = await client.get(CATCHUP.format(number=7), params={"start": unix_at(timedelta())})

    assert_problem(answer, 503)
    assert answer.headers["X-HDHomeRun-Error"].startswith("805")
    assert int(answer.headers["Retry-After"]) > 0
    held.release()
    assert container.streaming.tuners.status().in_use == 0


async def test_with_catch_up_off_there_is_no_catch_up_and_the_guide_starts_an_hour_back(
    make_settings: SettingsFactory,
) -> None:
    async for container, clock, client in refusing_tv(
        make_settings, catchup={"days": 0, "guide_past_hours": 3}, playout={"horizon_hours": 6}
    ):
        await on_air(container, "7", [movie("Early")], minutes=30)
        clock.advance(timedelta(hours=3, minutes=10))
        await container.playouts.extend_all()
        text = (await client.get("/iptv/channels.m3u")).text
        _, programmes = parse_guide((await client.get("/iptv/xmltv.xml")).content)
        answer = await client.get(CATCHUP.format(number=7), params={"start": unix_at(timedelta())})

        assert "catchup" not in text
        hour = T0 + timedelta(hours=3)
        assert min(p.start for p in programmes) == (hour - timedelta(hours=1)).strftime(
            "%Y%m%d%H%M%S +0000"
        )
        assert "catch-up is off" in assert_problem(answer, 404)["detail"]


async def test_the_access_token_guards_catch_up_and_is_carried_in_its_template(
    make_settings: SettingsFactory,
) -> None:
    async for container, clock, client in refusing_tv(
        make_settings, server={"access_token": "s3cret"}
    ):
        await an_hour_after_early(container, clock)
        start = {"start": unix_at(timedelta())}

        refused = await client.get(CATCHUP.format(number=7), params=start)
        refused_hls = await client.get(CATCHUP_HLS.format(number=7), params=start)
        allowed = await client.get(CATCHUP.format(number=7), params={**start, "token": "s3cret"})
        text = (await client.get("/iptv/channels.m3u", params={"token": "s3cret"})).text

        assert_problem(refused, 401)
        assert_problem(refused_hls, 401)
        assert_problem(allowed, 503)  # past the token and every check: the source refuses
        assert "catchup.ts?start={utc}&end={utcend}&token=s3cret" in text


async def test_disabling_a_channel_frees_its_catch_up_audiences_tuner_at_once(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)
    query = {"start": unix_at(timedelta()), "end": unix_at(timedelta(minutes=30))}
    playlist = m3u8.loads((await client.get(CATCHUP_HLS.format(number=7), params=query)).text)
    assert container.streaming.tuners.status().in_use == 1

    await client.patch("/api/channels/7", json={"enabled": False})
    segment = await client.get(f"/iptv/channel/7/{playlist.segments[0].uri}")

    assert container.streaming.tuners.status().in_use == 0
    assert_problem(segment, 404)


async def test_the_shift_form_on_the_live_urls_is_a_catch_up_from_utc(
    tv: tuple[Container, ManualClock, httpx.AsyncClient],
) -> None:
    container, clock, client = tv
    await an_hour_after_early(container, clock)
    shift = {"utc": unix_at(timedelta()), "lutc": unix_at(timedelta(hours=1))}

    ts = await client.get("/iptv/channel/7.ts", params=shift)
    hls = await client.get("/iptv/channel/7.m3u8", params=shift)
    future = await client.get("/iptv/channel/7.ts", params={"utc": unix_at(timedelta(hours=2))})

    assert assert_problem(ts, 503)["type"].endswith("source-unavailable")  # past every check
    assert hls.status_code == 200, hls.text
    playlist = m3u8.loads(hls.text)
    assert playlist.playlist_type == "event"  # from utc, the default span reaches past now
    assert playlist.segments[0].current_program_date_time == T0
    uri = httpx.URL("http://tv/iptv/channel/7.m3u8").join(playlist.segments[0].uri)
    assert uri.path == "/iptv/channel/7/catchup/0.ts"
    assert "past" in assert_problem(future, 422)["detail"]
