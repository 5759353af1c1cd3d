"""The emulated HDHomeRun over HTTP, as Plex, Jellyfin, Emby and Channels DVR read it: its
documents, a DeviceID that never changes, stable channel ids, and the tune URLs while live
streaming is not available (the tuner accounting under concurrency is in ``test_tuning``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from exstreamtv.formats.hdhomerun import device_id_valid, device_udn
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.device import STATE_KEY
from exstreamtv.services.streaming import StreamingService
from exstreamtv.store.app_state import AppStateRepository
from exstreamtv.store.database import transaction
from tests.stream_sources import RefusingSource
from tests.support import build_settings
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory

UPNP = "{urn:schemas-upnp-org:device-1-0}"


@pytest.fixture
async def tuner(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    """A container with three tuners and a friendly name of its own, whose stream source
    refuses every tune (these tests are about the answers around the stream)."""
    settings = make_settings(hdhomerun={"tuner_count": 3, "friendly_name": "Living Room"})
    async with open_container(settings) as opened:
        refusing = StreamingService(
            opened.channels, opened.streaming.tuners, RefusingSource(), opened.metrics
        )
        object.__setattr__(opened, "streaming", refusing)  # the container is frozen
        yield opened


@pytest.fixture
async def dvr(tuner: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(tuner) as opened:
        yield opened


async def add_channel(client: httpx.AsyncClient, number: str, name: str, **fields: Any) -> None:
    created = await client.post("/api/channels", json={"number": number, "name": name, **fields})
    assert created.status_code == 201, created.text


def tvg_ids(playlist: str) -> dict[str, str]:
    """Channel number -> tvg-id in an M3U playlist."""
    pairs = re.findall(r'tvg-id="([^"]+)" tvg-chno="([^"]+)"', playlist)
    return {number: tvg_id for tvg_id, number in pairs}


async def test_discover_json_describes_the_device(dvr: httpx.AsyncClient) -> None:
    body = (await dvr.get("/discover.json")).json()

    assert body == {
        "FriendlyName": "Living Room",
        "Manufacturer": "Silicondust",
        "ModelNumber": "HDTC-2US",
        "FirmwareName": "hdhomeruntc_atsc",
        "FirmwareVersion": "20200101",
        "DeviceID": body["DeviceID"],
        "DeviceAuth": "exstreamtv",
        "BaseURL": "http://localhost",
        "LineupURL": "http://localhost/lineup.json",
        "TunerCount": 3,
    }
    assert device_id_valid(body["DeviceID"])
    assert body["DeviceID"] == body["DeviceID"].upper()


async def test_lineup_json_lists_enabled_channels_with_plain_tune_urls(
    dvr: httpx.AsyncClient,
) -> None:
    await add_channel(dvr, "5.1", "Movies & More")
    await add_channel(dvr, "2", "Shows")
    await add_channel(dvr, "3", "Hidden", enabled=False)

    response = await dvr.get("/lineup.json")

    assert response.status_code == 200
    assert response.json() == [
        {"GuideNumber": "2", "GuideName": "Shows", "URL": "http://localhost/auto/v2", "HD": 1},
        {
            "GuideNumber": "5.1",
            "GuideName": "Movies & More",
            "URL": "http://localhost/auto/v5.1",
            "HD": 1,
        },
    ]


async def test_lineup_status_says_no_scan_is_running(dvr: httpx.AsyncClient) -> None:
    assert (await dvr.get("/lineup_status.json")).json() == {
        "ScanInProgress": 0,
        "ScanPossible": 1,
        "Source": "Cable",
        "SourceList": ["Cable"],
    }


@pytest.mark.parametrize("scan", ["start", "abort"])
async def test_lineup_post_accepts_scan_requests(dvr: httpx.AsyncClient, scan: str) -> None:
    assert (await dvr.post("/lineup.post", params={"scan": scan})).status_code == 200


@pytest.mark.parametrize("params", [{"scan": "rewind"}, {}])
async def test_lineup_post_refuses_an_unknown_scan_value(
    dvr: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_problem(await dvr.post("/lineup.post", params=params), 422)


async def test_device_xml_carries_the_device_id_as_serial_number_and_udn(
    dvr: httpx.AsyncClient,
) -> None:
    device_id = (await dvr.get("/discover.json")).json()["DeviceID"]

    response = await dvr.get("/device.xml")

    assert response.headers["content-type"].startswith("application/xml")
    root = SafeET.fromstring(response.content)
    device = root.find(f"{UPNP}device")
    assert device is not None
    assert device.findtext(f"{UPNP}serialNumber") == device_id
    assert device.findtext(f"{UPNP}UDN") == device_udn(device_id)
    assert device.findtext(f"{UPNP}friendlyName") == "Living Room"
    assert device.findtext(f"{UPNP}deviceType") == "urn:schemas-upnp-org:device:MediaServer:1"
    assert root.findtext(f"{UPNP}URLBase") == "http://localhost"


# --- DeviceID and channel ids ------------------------------------------------------------


async def test_device_id_is_generated_once_and_survives_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    settings = build_settings(tmp_path / "data", database_url)
    async with open_container(settings) as first, open_client(first) as client:
        generated = (await client.get("/discover.json")).json()["DeviceID"]
        assert (await client.get("/discover.json")).json()["DeviceID"] == generated
    async with open_container(settings) as again, open_client(again) as client:
        assert (await client.get("/discover.json")).json()["DeviceID"] == generated
        root = SafeET.fromstring((await client.get("/device.xml")).content)
    assert device_id_valid(generated)
    assert root.findtext(f"{UPNP}device/{UPNP}serialNumber") == generated


async def test_a_corrupt_stored_device_id_is_replaced_by_a_valid_one(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    async with open_container(settings) as container:
        async with transaction(container.sessions) as session:
            await AppStateRepository(session).set(STATE_KEY, "12345678")  # bad checksum
        replaced = await container.device.ensure()
    async with open_container(settings) as again:
        assert await again.device.ensure() == replaced
    assert device_id_valid(replaced)


async def test_a_configured_device_id_overrides_the_stored_one(
    make_settings: SettingsFactory,
) -> None:
    async with open_container(make_settings()) as container:
        stored = await container.device.ensure()
    assert stored != "12345674"
    configured = make_settings(hdhomerun={"device_id": "12345674"})
    async with open_container(configured) as container, open_client(container) as client:
        discovered = (await client.get("/discover.json")).json()["DeviceID"]
        root = SafeET.fromstring((await client.get("/device.xml")).content)
    assert discovered == "12345674"
    assert root.findtext(f"{UPNP}device/{UPNP}serialNumber") == "12345674"


async def test_channel_ids_survive_renumbering_and_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    settings = build_settings(tmp_path / "data", database_url)
    async with open_container(settings) as first, open_client(first) as client:
        await add_channel(client, "5", "Five")
        await add_channel(client, "6", "Six")
        before = tvg_ids((await client.get("/iptv/channels.m3u")).text)
        moved = await client.put("/api/channels/5", json={"number": "15.2", "name": "Fifteen"})
        assert moved.status_code == 200, moved.text
        renumbered = tvg_ids((await client.get("/iptv/channels.m3u")).text)
    async with open_container(settings) as again, open_client(again) as client:
        restarted = tvg_ids((await client.get("/iptv/channels.m3u")).text)

    assert renumbered == {"6": before["6"], "15.2": before["5"]}
    assert restarted == renumbered


# --- tune URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auto/v5.1", "/tuner0/v5.1", "/tuner2/v5.1"])
async def test_tune_urls_take_decimal_numbers_and_answer_a_documented_503(
    tuner: Container, dvr: httpx.AsyncClient, path: str
) -> None:
    await add_channel(dvr, "5.1", "Decimal")

    response = await dvr.get(path)

    body = assert_problem(response, 503)
    assert body["type"] == "urn:exstreamtv:problem:source-unavailable"
    assert "channel 5.1" in body["detail"]
    assert int(response.headers["retry-after"]) > 0
    assert "x-hdhomerun-error" not in response.headers
    assert tuner.streaming.tuners.status().in_use == 0


@pytest.mark.parametrize("path", ["/auto/v9", "/auto/v5.2", "/tuner1/v9"])
async def test_an_unknown_channel_is_404(dvr: httpx.AsyncClient, path: str) -> None:
    await add_channel(dvr, "5.1", "Decimal")

    assert "does not exist" in assert_problem(await dvr.get(path), 404)["detail"]


async def test_a_disabled_channel_cannot_be_tuned(dvr: httpx.AsyncClient) -> None:
    await add_channel(dvr, "4", "Off", enabled=False)

    assert "disabled" in assert_problem(await dvr.get("/auto/v4"), 404)["detail"]


@pytest.mark.parametrize("tuner_index", ["3", "4", "99"])
async def test_a_tuner_index_out_of_range_is_404(dvr: httpx.AsyncClient, tuner_index: str) -> None:
    await add_channel(dvr, "1", "One")

    body = assert_problem(await dvr.get(f"/tuner{tuner_index}/v1"), 404)

    assert f"no tuner {tuner_index}" in body["detail"]


async def test_an_invalid_channel_number_is_422(dvr: httpx.AsyncClient) -> None:
    assert_problem(await dvr.get("/auto/vabc"), 422)
    assert_problem(await dvr.get("/auto/v0"), 422)


async def test_with_every_tuner_busy_a_new_channel_gets_805_before_the_source_is_asked(
    tuner: Container, dvr: httpx.AsyncClient
) -> None:
    for number in ("1", "2", "3", "4"):
        await add_channel(dvr, number, f"Channel {number}")
    for number in ("1", "2", "3"):  # three viewers elsewhere hold every tuner
        tuner.streaming.tuners.acquire(number)

    busy = await dvr.get("/auto/v4")
    shared = await dvr.get("/auto/v2")  # a tuned channel is shared: only the source refuses

    body = assert_problem(busy, 503)
    assert body["type"] == "urn:exstreamtv:problem:all-tuners-in-use"
    assert busy.headers["x-hdhomerun-error"] == "805 All Tuners In Use"
    assert int(busy.headers["retry-after"]) > 0
    assert assert_problem(shared, 503)["type"] == "urn:exstreamtv:problem:source-unavailable"
    assert tuner.streaming.tuners.status().channels == {"1": 1, "2": 1, "3": 1}
