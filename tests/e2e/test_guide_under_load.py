"""A guide of 500,000 programmes, generated cold, while a viewer streams and ``/healthz``
is polled every 50 ms, with both cores kept busy: the viewer never waits more than 0.3 s
for data and every health answer comes within 100 ms.

The real ``exstreamtv serve`` with the demo; 100 more channels whose playout rows
(5,000 programmes each) are written straight into its database (no media needed).

A soak (``make slow``): it needs a machine whose only load is the two busy cores it adds
(on a machine already crowded, the viewer starves with or without a guide). The default
suite keeps the guide off the event loop with ``tests/services/test_guide_fragments.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.test_first_run import Server

CHANNELS = 100
PER_CHANNEL = 5_000  # programmes of 34 s: 47.2 h, inside the 48 h guide
SECONDS = 34
VIEWER_GAP_SEC = 0.3
HEALTH_SEC = 0.1
ROWS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last)
INSERT INTO playout_entries (channel_id, start, finish, kind, media_item_id, in_point_ms,
    out_point_ms, guide_group, guide_title, source, cursor)
SELECT c.id,
    strftime('%Y-%m-%d %H:%M:%S', :first + n.i * :seconds, 'unixepoch') || '.000000',
    strftime('%Y-%m-%d %H:%M:%S', :first + (n.i + 1) * :seconds, 'unixepoch') || '.000000',
    'content', :media, 0, :seconds * 1000, n.i, NULL, 'load', NULL
FROM n, channels c WHERE c.number_major >= 100
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo server plus 100 channels of 5,000 programmes each."""
    data = tmp_path_factory.mktemp("guide-load") / "data"
    server = Server(data)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for number in range(100, 100 + CHANNELS):
                created = client.post("/api/channels", json={"number": str(number),
                                                             "name": f"Load {number}"})  # fmt: skip
                assert created.status_code == 201, created.text
        hour = int(time.time()) // 3600 * 3600
        with contextlib.closing(sqlite3.connect(data / "exstreamtv.db", timeout=30)) as db:
            media = db.execute("SELECT min(id) FROM media_items").fetchone()[0]
            with db:
                db.execute(ROWS, {"first": hour - 3600, "media": media, "seconds": SECONDS,
                                  "last": PER_CHANNEL - 1})  # fmt: skip
        yield server
    finally:
        server.stop()


class Viewer(threading.Thread):
    """Reads channel 1 and records when each chunk arrives."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.arrivals: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.stream("GET", f"{self.url}/iptv/channel/1.ts", timeout=30) as response:
            for _ in response.iter_raw(16 * 1024):
                self.arrivals.append(time.monotonic())
                if self.stop.is_set():
                    return

    def longest_gap(self, start: float, end: float) -> float:
        during = [t for t in self.arrivals if start <= t <= end]
        return max(b - a for a, b in itertools.pairwise(during))


class HealthPoller(threading.Thread):
    """Asks ``/healthz`` every 50 ms and records each answer's latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                assert client.get(f"{self.url}/healthz").status_code == 200
                self.latencies.append(time.monotonic() - started)
                self.stop.wait(0.05)


@contextlib.contextmanager
def busy_cores(count: int = 2) -> Iterator[None]:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=10)


def read_guide(url: str) -> int:
    """Fetch the guide (gzip) and count its programmes."""
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    programmes, tail = 0, b""
    headers = {"accept-encoding": "gzip"}
    with httpx.stream("GET", f"{url}/iptv/xmltv.xml", headers=headers, timeout=120) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            text = tail + inflate.decompress(chunk)
            programmes += text.count(b"<programme ")
            tail = text[-10:]  # shorter than "<programme ": never counted twice
    assert inflate.eof, "the guide ended before its gzip trailer"
    return programmes


@pytest.mark.soak
def test_a_cold_500k_programme_guide_never_stalls_a_viewer_or_a_probe(loaded: Server) -> None:
    viewer, health = Viewer(loaded.url), HealthPoller(loaded.url)
    viewer.start()
    deadline = time.monotonic() + 30
    while len(viewer.arrivals) < 20 and time.monotonic() < deadline:  # the tune has settled
        time.sleep(0.05)
    health.start()
    with busy_cores():
        started = time.monotonic()
        programmes = read_guide(loaded.url)
        ended = time.monotonic()
    viewer.stop.set()
    health.stop.set()
    health.join(timeout=10)

    assert programmes >= CHANNELS * PER_CHANNEL
    assert viewer.longest_gap(started, ended) <= VIEWER_GAP_SEC
    assert health.latencies and max(health.latencies) <= HEALTH_SEC, sorted(health.latencies)[-5:]
