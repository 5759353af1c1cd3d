"""dizqueTV's channels imported into a running server play: the real server, a library of
real clips at the paths dizqueTV's Plex saw (mapped), the upload the web UI sends, then the
imported channel's MPEG-TS stream is clean and the guide passes the real validator."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from exstreamtv.formats.conformance import check_stream
from tests.e2e.test_first_run import Server
from tests.e2e.test_streaming import capture
from tests.imports.conftest import PLEX_FILES
from tests.lineups import tv_validate

FIXTURE = Path(__file__).parents[1] / "fixtures" / "dizquetv"


@pytest.fixture
def station(tmp_path: Path, place_clip: Callable[[Path, float], Path]) -> Iterator[Server]:
    """A server whose config declares a library holding the fixture's files."""
    media = tmp_path / "media"
    for name in PLEX_FILES:
        place_clip(media / name, 3.0)
    data = tmp_path / "data"
    data.mkdir()
    config = {"libraries": [{"name": "Plex copy", "paths": [str(media)]}]}
    (data / "exstreamtv.yaml").write_text(yaml.safe_dump(config))
    server = Server(data, {"EXSTREAMTV_DEMO__ENABLED": "false"})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _scanned(server: Server) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (library,) = httpx.get(f"{server.url}/api/libraries", timeout=10).json()
        if (
            library["last_scan_at"] is not None
            and (library["scan"] or {}).get("status") != "running"
        ):
            return
        time.sleep(0.5)
    pytest.fail("the library scan did not finish")


def test_imported_channels_stream_and_their_guide_validates(
    station: Server, tmp_path: Path
) -> None:
    _scanned(station)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in FIXTURE.rglob("*.json"):
            archive.write(path, f".dizquetv/{path.relative_to(FIXTURE)}")
    media = tmp_path / "media"
    answer = httpx.post(
        f"{station.url}/api/imports/dizquetv", data={"path_map": f"/data={media}"},
        files={"file": ("dizquetv.zip", buffer.getvalue())}, timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched"] == 11

    data, _ = capture(f"{station.url}/iptv/channel/5.ts", 150_000)
    report = check_stream(data)
    assert report.ok, report.summary()
    guide = httpx.get(f"{station.url}/iptv/xmltv.xml", timeout=30)
    assert "Validated ok." in asyncio.run(tv_validate(guide.content, tmp_path))
