"""Behaviour of the HDHomeRun UDP discovery listener, over real loopback sockets.

Only 127.0.0.0/8 is used. Synchronisation relies on ordering, not sleeps: the listener
handles datagrams one at a time in arrival order, so once the reply to a later request
arrives, every earlier datagram has been handled and its reply (if any) is already queued.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import shutil
from collections.abc import AsyncIterator

import psutil
import pytest

from exstreamtv.discovery.hdhomerun_udp import HdhomerunDiscovery
from exstreamtv.discovery.rate_limit import SourceRateLimiter
from exstreamtv.formats.hdhomerun import decode_packet, encode_packet
from exstreamtv.metrics import Metrics
from tests.discovery import ExplodingLimiter, FrozenClock, drain, receive, udp_client

OUR_ID = "12345674"
WILDCARD_REQUEST = encode_packet(0x0002, [(0x01, b"\xff" * 4), (0x02, b"\xff" * 4)])
METRIC = "exstreamtv_hdhomerun_discovery_requests_total"


def make_listener(
    metrics: Metrics, *, limiter: SourceRateLimiter | None = None, enabled: bool = True
) -> HdhomerunDiscovery:
    return HdhomerunDiscovery(
        device_id=OUR_ID,
        tuner_count=3,
        base_url="http://127.0.0.1:8411",
        device_auth="auth-token",
        metrics=metrics,
        limiter=limiter,
        enabled=enabled,
    )


def count(metrics: Metrics, result: str) -> float:
    return metrics.registry.get_sample_value(METRIC, {"result": result}) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def listener(metrics: Metrics) -> AsyncIterator[tuple[str, int]]:
    discovery = make_listener(metrics)
    await discovery.start("127.0.0.1", 0)
    address = discovery.address
    assert address is not None
    yield address
    await discovery.stop()


async def test_a_wildcard_request_gets_our_reply(listener: tuple[str, int]) -> None:
    with udp_client() as client:
        client.sendto(WILDCARD_REQUEST, listener)
        reply = decode_packet(await receive(client))
    assert reply.type == 0x0003
    assert reply.tags[0x02] == bytes.fromhex(OUR_ID)
    assert reply.tags[0x10] == b"\x03"
    assert reply.tags[0x2A] == b"http://127.0.0.1:8411"
    assert reply.tags[0x27] == b"http://127.0.0.1:8411/lineup.json"


async def test_garbage_is_counted_and_the_listener_keeps_answering(
    listener: tuple[str, int], metrics: Metrics
) -> None:
    garbage = [b"", b"\x00", b"\xff" * 2000, WILDCARD_REQUEST[:-1] + b"\x00", b"GET / HTTP/1.1"]
    with udp_client() as client:
        for datagram in garbage:
            client.sendto(datagram, listener)
        client.sendto(WILDCARD_REQUEST, listener)
        assert decode_packet(await receive(client)).type == 0x0003
        assert drain(client) == []
    assert count(metrics, "malformed") == len(garbage)
    assert count(metrics, "answered") == 1
    assert count(metrics, "error") == 0


async def test_a_request_for_another_device_id_gets_no_reply(
    listener: tuple[str, int], metrics: Metrics
) -> None:
    other = encode_packet(0x0002, [(0x01, b"\xff" * 4), (0x02, bytes.fromhex("ABCDEF01"))])
    with udp_client() as client:
        client.sendto(other, listener)
        client.sendto(WILDCARD_REQUEST, listener)
        await receive(client)  # the reply to the second request...
        assert drain(client) == []  # ...and nothing for the first
    assert count(metrics, "ignored") == 1


async def test_replies_to_one_source_are_rate_limited_but_others_are_served(
    metrics: Metrics,
) -> None:
    clock = FrozenClock()
    discovery = make_listener(metrics, limiter=SourceRateLimiter(clock, rate=20, burst=20))
    await discovery.start("127.0.0.1", 0)
    address = discovery.address
    assert address is not None
    try:
        with udp_client("127.0.0.1") as flooder, udp_client("127.0.0.2") as witness:
            for _ in range(30):
                flooder.sendto(WILDCARD_REQUEST, address)
            witness.sendto(WILDCARD_REQUEST, address)
            await receive(witness)
            assert len(drain(flooder)) == 20
            assert count(metrics, "rate_limited") == 10

            clock.ticks += 0.5  # half a second refills ten tokens
            for _ in range(15):
                flooder.sendto(WILDCARD_REQUEST, address)
            witness.sendto(WILDCARD_REQUEST, address)
            await receive(witness)
            assert len(drain(flooder)) == 10
    finally:
        await discovery.stop()


def test_the_rate_limiter_forgets_the_least_recently_seen_source() -> None:
    clock = FrozenClock()
    limiter = SourceRateLimiter(clock, rate=1, burst=1, max_sources=2)
    assert limiter.allow("10.0.0.1")
    assert not limiter.allow("10.0.0.1")
    assert limiter.allow("10.0.0.2")
    assert limiter.allow("10.0.0.3")  # evicts 10.0.0.1
    assert limiter.tracked_sources == 2
    assert limiter.allow("10.0.0.1")  # a forgotten source starts with a full bucket


def test_a_bug_never_escapes_datagram_received_and_is_logged_once(
    metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    discovery = make_listener(metrics, limiter=ExplodingLimiter(FrozenClock()))
    with caplog.at_level(logging.ERROR, logger="exstreamtv.discovery.hdhomerun_udp"):
        discovery.datagram_received(WILDCARD_REQUEST, ("127.0.0.1", 5000))
        discovery.datagram_received(WILDCARD_REQUEST, ("127.0.0.1", 5000))
    assert count(metrics, "error") == 2
    assert [r.exc_info is not None for r in caplog.records] == [True]


async def test_a_disabled_listener_binds_nothing(metrics: Metrics) -> None:
    discovery = make_listener(metrics, enabled=False)
    await discovery.start("127.0.0.1", 0)
    assert discovery.address is None
    await discovery.stop()


def test_unusable_settings_fail_at_construction(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="device_id"):
        HdhomerunDiscovery(
            device_id="12345675",
            tuner_count=3,
            base_url="http://h",
            device_auth="",
            metrics=metrics,
        )


def holder_of_udp_65001() -> str:
    """Who holds UDP port 65001, as far as this process may see."""
    try:
        sockets = psutil.net_connections(kind="udp")
    except psutil.AccessDenied:
        return "unknown process (not allowed to list sockets)"
    holders = [c for c in sockets if c.laddr and c.laddr[1] == 65001]
    names = []
    for conn in holders:
        try:
            names.append(f"pid {conn.pid} {psutil.Process(conn.pid).name()}")
        except (psutil.Error, TypeError, ValueError):
            names.append(f"pid {conn.pid}")
    return ", ".join(names) or "unknown process"


async def start_on_65001(discovery: HdhomerunDiscovery) -> None:
    """Bind 127.0.0.1:65001 (the client's fixed port), retrying briefly; skip if truly taken."""
    for _ in range(20):
        try:
            await discovery.start("127.0.0.1", 65001)
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            await asyncio.sleep(0.1)  # back-off for a neighbour releasing the port
        else:
            return
    pytest.skip(f"UDP 127.0.0.1:65001 stayed in use for 2 s, held by {holder_of_udp_65001()}")


async def test_the_real_hdhomerun_config_client_finds_our_device(metrics: Metrics) -> None:
    """``hdhomerun_config discover 127.0.0.1`` unicasts to port 65001 and prints what it finds.

    Never run without the address: a bare ``discover`` broadcasts on every interface.
    """
    executable = shutil.which("hdhomerun_config")
    if executable is None:
        pytest.fail("hdhomerun_config is missing: apt-get install hdhomerun-config")
    discovery = make_listener(metrics)
    await start_on_65001(discovery)
    try:
        process = await asyncio.create_subprocess_exec(
            executable,
            "discover",
            "127.0.0.1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(20):
                output, _ = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    finally:
        await discovery.stop()
    assert f"hdhomerun device {OUR_ID} found at 127.0.0.1" in output.decode()
    assert count(metrics, "answered") >= 1
    assert count(metrics, "malformed") == 0
