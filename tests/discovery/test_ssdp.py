"""Behaviour of the SSDP responder over loopback: a plain 127.0.0.1 socket, no multicast.

NOTIFYs go to a loopback capture socket. Datagrams are handled one at a time in order, so
once the reply to a later search arrives, every earlier datagram has been handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from exstreamtv.discovery.rate_limit import SourceRateLimiter
from exstreamtv.discovery.ssdp import Search, SsdpResponder, parse_search
from exstreamtv.formats.hdhomerun import device_udn
from exstreamtv.metrics import Metrics
from tests.discovery import ExplodingLimiter, FrozenClock, drain, receive, udp_client

OUR_ID = "12345674"
UDN = device_udn(OUR_ID)
MEDIA_SERVER = "urn:schemas-upnp-org:device:MediaServer:1"
LOCATION = "http://127.0.0.1:8411/device.xml"
METRIC = "exstreamtv_ssdp_requests_total"
EXPECTED = {
    "upnp:rootdevice": f"{UDN}::upnp:rootdevice",
    UDN: UDN,
    MEDIA_SERVER: f"{UDN}::{MEDIA_SERVER}",
}


def search(st: str, mx: str | None = "2") -> bytes:
    lines = ["M-SEARCH * HTTP/1.1", "HOST: 239.255.255.250:1900", 'MAN: "ssdp:discover"']
    lines += [f"ST: {st}"] + ([f"MX: {mx}"] if mx is not None else [])
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_message(data: bytes) -> tuple[str, dict[str, str]]:
    """Start line and upper-cased headers of one SSDP message; it must end with CRLF CRLF."""
    text = data.decode()
    assert text.endswith("\r\n\r\n")
    start, *lines = text[:-4].split("\r\n")
    pairs = [line.partition(":") for line in lines]
    assert all(colon for _, colon, _ in pairs), lines
    return start, {name.strip().upper(): value.strip() for name, _, value in pairs}


def count(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value(METRIC, {"result": result}) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def capture() -> Iterator[socket.socket]:
    """Where the responder's NOTIFYs go: a loopback socket, never the multicast group."""
    with udp_client() as sock:
        yield sock


@pytest.fixture
async def responders(
    metrics: Metrics, capture: socket.socket
) -> AsyncIterator[Callable[..., SsdpResponder]]:
    """Builds responders on 127.0.0.1 that tests start; all are stopped at the end."""
    made: list[SsdpResponder] = []

    def make(**overrides: object) -> SsdpResponder:
        options: dict[str, object] = {
            "device_id": OUR_ID,
            "base_url": "http://127.0.0.1:8411/",
            "metrics": metrics,
            "join_group": False,
            "notify_target": capture.getsockname(),
            "notify_interval": 3600.0,
            "response_delay": lambda mx: 0.0,
            **overrides,
        }
        responder = SsdpResponder(**options)  # type: ignore[arg-type]
        made.append(responder)
        return responder

    yield make
    for responder in made:
        await responder.stop()


async def started(responder: SsdpResponder) -> tuple[str, int]:
    await responder.start("127.0.0.1", 0)
    assert responder.address is not None
    return responder.address


async def test_ssdp_all_gets_one_unicast_reply_per_type_pointing_at_device_xml(
    responders: Callable[..., SsdpResponder],
) -> None:
    address = await started(responders())
    with udp_client() as client:
        client.sendto(search("ssdp:all"), address)
        replies = [parse_message(await receive(client)) for _ in range(3)]
    assert {start for start, _ in replies} == {"HTTP/1.1 200 OK"}
    assert {h["ST"]: h["USN"] for _, h in replies} == EXPECTED
    for _, headers in replies:
        assert headers["LOCATION"] == LOCATION
        assert headers["CACHE-CONTROL"] == "max-age=1800"
        assert headers["EXT"] == ""
        assert "UPnP/1.0" in headers["SERVER"]


@pytest.mark.parametrize(
    ("st", "answered_st"),
    [
        ("upnp:rootdevice", "upnp:rootdevice"),
        (MEDIA_SERVER, MEDIA_SERVER),
        (UDN, UDN),
        (UDN.upper(), UDN),  # UUIDs compare case-insensitively
    ],
)
async def test_each_of_our_types_gets_exactly_its_own_reply(
    responders: Callable[..., SsdpResponder], st: str, answered_st: str
) -> None:
    address = await started(responders())
    with udp_client() as client:
        client.sendto(search(st), address)
        client.sendto(search("ssdp:all"), address)
        replies = [parse_message(await receive(client))[1] for _ in range(4)]
        assert drain(client) == []
    assert (replies[0]["ST"], replies[0]["USN"]) == (answered_st, EXPECTED[answered_st])
    assert {h["ST"] for h in replies[1:]} == set(EXPECTED)


async def test_other_targets_and_other_devices_traffic_are_ignored(
    responders: Callable[..., SsdpResponder], metrics: Metrics
) -> None:
    address = await started(responders())
    others = [
        search("urn:schemas-upnp-org:device:MediaRenderer:1"),
        search("uuid:00000000-0000-0000-0000-000000000000"),
        b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n",
    ]
    with udp_client() as client:
        for datagram in others:
            client.sendto(datagram, address)
        client.sendto(search("upnp:rootdevice"), address)
        _, headers = parse_message(await receive(client))
        assert headers["ST"] == "upnp:rootdevice"  # the first reply is to the last search
        assert drain(client) == []
    assert count(metrics, "ignored") == len(others)
    assert count(metrics, "answered") == 1


async def test_malformed_datagrams_are_counted_and_searches_still_answered(
    responders: Callable[..., SsdpResponder], metrics: Metrics
) -> None:
    address = await started(responders())
    garbage = [
        b"\xff\xfe\x00",
        b"GET / HTTP/1.1\r\n\r\n",
        b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",  # no MAN
        b'M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\n\r\n',  # no ST
        search("ssdp:all", mx="soon"),
        search("ssdp:all", mx="-1"),
        b"M-SEARCH * HTTP/1.1\r\nno colon here\r\n\r\n",
        b"M-SEARCH * HTTP/1.1\r\n" + b"X: y\r\n" * 1000,
    ]
    with udp_client() as client:
        for datagram in garbage:
            client.sendto(datagram, address)
        client.sendto(search("upnp:rootdevice"), address)
        await receive(client)
        assert drain(client) == []
    assert count(metrics, "malformed") == len(garbage)
    assert count(metrics, "error") == 0


def test_parse_search_reads_st_and_mx_and_tolerates_bare_newlines() -> None:
    bare = b"M-SEARCH * HTTP/1.1\nman: ssdp:discover\nst: ssdp:all\nmx: 3\n\n"
    assert parse_search(bare) == Search(st="ssdp:all", mx=3)
    assert parse_search(search("upnp:rootdevice", mx=None)) == Search("upnp:rootdevice", None)


async def test_the_mx_delay_is_taken_from_the_request_and_used(
    responders: Callable[..., SsdpResponder],
) -> None:
    asked: list[int] = []

    def delay(mx: int) -> float:
        asked.append(mx)
        return 0.05

    address = await started(responders(response_delay=delay))
    with udp_client() as client:
        client.sendto(search(MEDIA_SERVER, mx="4"), address)  # answered after 50 ms
        client.sendto(search("upnp:rootdevice", mx=None), address)  # no MX: answered at once
        first = parse_message(await receive(client))[1]["ST"]
        second = parse_message(await receive(client))[1]["ST"]
    assert asked == [4]
    assert (first, second) == ("upnp:rootdevice", MEDIA_SERVER)


async def test_alive_is_sent_at_start_and_then_periodically(
    responders: Callable[..., SsdpResponder], capture: socket.socket
) -> None:
    await started(responders(notify_interval=0.01))
    rounds = [parse_message(await receive(capture)) for _ in range(6)]
    for start, headers in rounds:
        assert start == "NOTIFY * HTTP/1.1"
        assert headers["NTS"] == "ssdp:alive"
        assert headers["LOCATION"] == LOCATION
        assert headers["HOST"] == "{}:{}".format(*capture.getsockname())
        assert EXPECTED[headers["NT"]] == headers["USN"]
    assert [h["NT"] for _, h in rounds[:3]] == [h["NT"] for _, h in rounds[3:]]
    assert {h["NT"] for _, h in rounds} == set(EXPECTED)


async def test_byebye_is_sent_for_every_type_on_stop(
    responders: Callable[..., SsdpResponder], capture: socket.socket
) -> None:
    responder = responders()
    await started(responder)
    await responder.stop()
    seen = [parse_message(data)[1] for data in drain(capture)]
    byebyes = {h["NT"]: h["USN"] for h in seen if h["NTS"] == "ssdp:byebye"}
    assert byebyes == EXPECTED
    assert seen[-3:] == [h for h in seen if h["NTS"] == "ssdp:byebye"]
    await responder.stop()  # idempotent: nothing more is sent
    assert drain(capture) == []


async def test_searches_from_one_source_are_rate_limited(
    responders: Callable[..., SsdpResponder], metrics: Metrics
) -> None:
    limiter = SourceRateLimiter(FrozenClock(), rate=20, burst=20)
    address = await started(responders(limiter=limiter))
    with udp_client("127.0.0.1") as flooder, udp_client("127.0.0.2") as witness:
        for _ in range(25):
            flooder.sendto(search("upnp:rootdevice"), address)
        witness.sendto(search("upnp:rootdevice"), address)
        await receive(witness)
        assert len(drain(flooder)) == 20
    assert count(metrics, "rate_limited") == 5


async def test_a_bug_never_escapes_datagram_received_and_is_logged_once(
    responders: Callable[..., SsdpResponder],
    metrics: Metrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    responder = responders(limiter=ExplodingLimiter(FrozenClock()))
    await started(responder)
    with caplog.at_level(logging.ERROR, logger="exstreamtv.discovery.ssdp"):
        responder.datagram_received(search("ssdp:all"), ("127.0.0.1", 5000))
        responder.datagram_received(search("ssdp:all"), ("127.0.0.1", 5000))
    assert count(metrics, "error") == 2
    assert [r.exc_info is not None for r in caplog.records] == [True]


async def test_a_disabled_responder_binds_and_sends_nothing(
    responders: Callable[..., SsdpResponder],
) -> None:
    responder = responders(enabled=False)
    await responder.start("127.0.0.1", 0)
    assert responder.address is None


async def test_the_real_upnp_client_finds_us_by_unicast_search(
    responders: Callable[..., SsdpResponder],
) -> None:
    """With ``--target``/``--target_port`` the CLI unicasts its M-SEARCH (no multicast) and
    prints one JSON object per reply after ``--timeout`` seconds (also its MX)."""
    executable = shutil.which("upnp-client", path=str(Path(sys.executable).parent))
    assert executable is not None, "upnp-client is missing: pip install async-upnp-client"
    _, port = await started(responders())
    argv = ["--timeout", "1", "search", "--bind", "127.0.0.1", "--target", "127.0.0.1"]
    argv += ["--target_port", str(port), "--search_target", "ssdp:all"]
    pipe = asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(executable, *argv, stdout=pipe, stderr=pipe)
    try:
        async with asyncio.timeout(30):
            output, errors = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, errors.decode()
    found = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
    assert {item["ST"]: item["USN"] for item in found} == EXPECTED
    assert {item["LOCATION"] for item in found} == {LOCATION}
    assert {item["_udn"] for item in found} == {UDN}
