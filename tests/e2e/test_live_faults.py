"""Channels that never die, against the real server: a channel deleted while watched ends
its viewers cleanly and comes back whole when re-created; a database outage plays slates,
answers the API with 503 and recovers by itself; a viewer that stops reading is dropped
while another keeps real-time bytes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import PACKET_SIZE
from tests.e2e.test_first_run import Server
from tests.e2e.test_streaming import metric
from tests.playback.test_session import media_span
from tests.support import PostgresCluster

WAIT_SEC = 60


class Watcher(threading.Thread):
    """Reads a stream in the background, as a player does, until stopped or the stream
    ends; keeps what it got, and when."""

    def __init__(self, url: str, *, read: bool = True) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.data = bytearray()
        self.status = 0
        self.ended = threading.Event()  # the server ended the response
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._read = read
        self.arrivals: list[tuple[float, int]] = []  # (monotonic, total bytes)

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=WAIT_SEC) as response:
                self.status = response.status_code
                for chunk in response.iter_raw(16 * 1024):
                    self.data += chunk
                    self.arrivals.append((time.monotonic(), len(self.data)))
                    if self._halt.is_set():
                        return
                    while not self._read and not self._halt.is_set():
                        self._halt.wait(0.1)  # a player that stopped reading
                self.ended.set()
        except httpx.HTTPError as err:
            self.error = err
            self.ended.set()

    def resume(self) -> None:
        """Start reading again (a stalled player coming back)."""
        self._read = True

    def stop(self) -> None:
        self._halt.set()
        self.join(WAIT_SEC)

    def media(self) -> float:
        """Seconds of video received so far."""
        data = bytes(self.data)
        return media_span(data[: len(data) // PACKET_SIZE * PACKET_SIZE])

    def wait_media(self, seconds: float, timeout: float = WAIT_SEC) -> None:
        deadline = time.monotonic() + timeout
        while self.media() < seconds:
            assert time.monotonic() < deadline, f"only {self.media():.1f}s of media arrived"
            assert not self.ended.is_set(), f"the stream ended early ({self.error!r})"
            time.sleep(0.2)


def wait_for(condition: object, what: str, timeout: float = WAIT_SEC) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("faults") / "data",
                    {"EXSTREAMTV_STREAMING__VIEWER_MAX_LAG_SEC": "3"})  # fmt: skip
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_a_channel_deleted_while_watched_ends_cleanly_and_comes_back_whole(demo: Server) -> None:
    watcher = Watcher(f"{demo.url}/iptv/channel/2.ts")
    watcher.start()
    try:
        watcher.wait_media(2.0)
        assert httpx.delete(f"{demo.url}/api/channels/2", timeout=30).status_code == 204
        assert watcher.ended.wait(20), "the viewer of a deleted channel was left hanging"
        assert watcher.error is None  # a clean end of the response, not a broken one
    finally:
        watcher.stop()
    seen = bytes(watcher.data[: len(watcher.data) // PACKET_SIZE * PACKET_SIZE])
    assert check_stream(seen).ok, check_stream(seen).summary()

    # The number and its tuner are free at once: a re-created channel plays in full.
    created = httpx.post(f"{demo.url}/api/channels", json={"number": "2", "name": "Again"},
                         timeout=30)  # fmt: skip
    assert created.status_code == 201, created.text
    attached = httpx.put(f"{demo.url}/api/channels/2/schedule", json={"schedule_id": 2},
                         timeout=60)  # fmt: skip
    assert attached.status_code == 200, attached.text
    again = Watcher(f"{demo.url}/iptv/channel/2.ts")
    again.start()
    try:
        again.wait_media(8.0)  # the zombie gave 1-2 s, then nothing
    finally:
        again.stop()
    data = bytes(again.data[: len(again.data) // PACKET_SIZE * PACKET_SIZE])
    report = check_stream(data)
    assert report.ok and report.clean_start, report.summary()


def test_a_viewer_that_stops_reading_is_dropped_and_the_others_never_slow_down(
    demo: Server,
) -> None:
    """One player stops reading; two others read on. The stalled one is dropped (after the
    lag limit, 3 s here) and its stream ends; the readers never fall behind the channel:
    each gets as much media as the other, and (on a machine that can transcode in real
    time) as much as the wall clock allows."""
    url = f"{demo.url}/iptv/channel/1.ts"
    before = _dropped(demo)
    readers = [Watcher(url), Watcher(url)]
    stalled = Watcher(url, read=False)
    for watcher in (*readers, stalled):
        watcher.start()
    try:
        for reader in readers:
            reader.wait_media(1.0)
        started = time.monotonic()
        wait_for(lambda: _dropped(demo) > before, "the stalled viewer to be dropped", timeout=45)
        stalled.resume()  # what was in the pipes, then the end of its stream
        assert stalled.ended.wait(10) and stalled.error is None
        elapsed = time.monotonic() - started
        got = [reader.media() for reader in readers]
    finally:
        for watcher in (*readers, stalled):
            watcher.stop()
    assert all(not reader.ended.is_set() for reader in readers)
    assert abs(got[0] - got[1]) <= 1.5, got  # neither reader was held back
    late = [line for line in demo.output().splitlines() if "behind the guide" in line]
    if not late:  # the channel kept up with the clock, so its readers did too
        assert min(got) >= 0.8 * elapsed - 2.0 or os.getloadavg()[0] > 8, (got, elapsed)


def _faults(server: Server, kind: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    name = f'exstreamtv_stream_faults_total{{channel="1",kind="{kind}"}}'
    return metric(text, name) if name in text else 0.0


def _dropped(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    name = 'exstreamtv_stream_viewers_dropped_total{channel="1"}'
    return metric(text, name) if name in text else 0.0


@pytest.mark.postgres
def test_a_database_outage_plays_slates_answers_503_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    cluster = PostgresCluster()
    cluster.start()
    cluster.create_database("outage")
    server = Server(tmp_path / "data", {"EXSTREAMTV_DATABASE__URL": cluster.url("outage")})
    try:
        server.wait_ready()
        watcher = Watcher(f"{server.url}/iptv/channel/1.ts")
        watcher.start()
        try:
            watcher.wait_media(2.0)
            cluster.pause()
            wait_for(lambda: httpx.get(f"{server.url}/api/channels").status_code == 503,
                     "the API to answer 503")  # fmt: skip
            down = httpx.get(f"{server.url}/api/channels")
            assert down.headers["content-type"] == "application/problem+json"
            assert down.headers["retry-after"] == "5"
            assert down.json()["type"].endswith(":database-unavailable")
            # The producer asks what plays next at the next item boundary (items here last
            # 20-30 s): that lookup fails, and error slates keep the viewer fed meanwhile.
            wait_for(lambda: _faults(server, "lookup") >= 1, "a failed lookup")
            media_down = watcher.media()
            watcher.wait_media(media_down + 4.0)
            cluster.resume()
            wait_for(lambda: httpx.get(f"{server.url}/api/channels").status_code == 200,
                     "the API to answer again")  # fmt: skip
            now = httpx.get(f"{server.url}/api/channels/1/now", timeout=30)
            assert now.status_code == 200, now.text
            watcher.wait_media(watcher.media() + 6.0)  # and the channel goes on by itself
        finally:
            watcher.stop()
        assert watcher.error is None and not watcher.ended.is_set()
        log = server.output()
        assert "cannot look up what plays" in log and "lookups work again" in log
        data = bytes(watcher.data[: len(watcher.data) // PACKET_SIZE * PACKET_SIZE])
        report = check_stream(data)
        assert report.ok, report.summary()
    finally:
        server.stop()
        cluster.stop()
