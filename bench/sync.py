"""Media-server sync benchmark: full sync rate, incremental resync time, peak RSS.

Serves a fake Plex, Jellyfin or Emby server (the test suite's fakes, in a child process on
loopback so the server's rendering does not share our core) holding ``--items`` movies,
syncs it into a fresh SQLite database with the real clients and sync, changes 1% of the
items on the server, and syncs again.

Targets (2-core machine): a 20,000-item full sync in at most 30 s; the 1% resync in at most
3 s. ``--page-cap N`` makes the server answer at most N items per request (as real servers
may cap large pages): every item must still arrive, and the figures show what it costs.

    .venv/bin/python bench/sync.py [--items 20000] [--servers plex,jellyfin,emby] [--page-cap N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

# The fakes live with the tests; the benchmark drives the very same servers.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.media_servers.catalogue import Catalogue
from tests.media_servers.fake_jellyfin import TOKEN as JELLYFIN_TOKEN
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import TOKEN as PLEX_TOKEN
from tests.media_servers.fake_plex import FakePlex

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import ScanStatus, SourceKind
from exstreamtv.services.container import open_container

FULL_TARGET_SEC = 30.0
RESYNC_TARGET_SEC = 3.0
CHANGED = 0.01


def serve(kind: str, items: int, port: int, page_cap: int | None = None) -> None:
    """The child process: a fake server with ``items`` movies, and a route that changes 1%."""
    catalogue = Catalogue(id_style="hex" if kind == "jellyfin" else "decimal")
    movies = catalogue.library("Movies", "movie", "/data/Movies")
    for n in range(items):
        catalogue.add(
            movies, "movie", f"Film {n:05d}", year=1950 + n % 70, guids={"imdb": f"tt{n:07d}"},
            updated_at=1_600_000_000 + n * 600,  # added and edited over the years
        )  # fmt: skip
    fake: FakePlex | FakeJellyfin
    fake = FakePlex(catalogue) if kind == "plex" else FakeJellyfin(kind, catalogue)
    fake.page_cap = page_cap  # none by default: the benchmark measures our client

    async def change(request: Request) -> Response:
        for n, item in enumerate(movies.items.values()):
            if n % int(1 / CHANGED) == 0:
                item.touch(title=f"{item.title} (restored)")
        return Response(b"ok")

    app = Starlette(
        routes=[Route("/_bench/change", change, methods=["POST"]), Mount("/", fake.app())]
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(config).run()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                await client.get(url + "/_bench/ready")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
            else:
                return
    raise SystemExit(f"the fake server at {url} did not start")


async def bench(
    kind: str, items: int, work: Path, page_cap: int | None = None
) -> tuple[float, float]:
    port = free_port()
    child = multiprocessing.get_context("fork").Process(
        target=serve, args=(kind, items, port, page_cap), daemon=True
    )
    child.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_up(url)
        data = work / kind
        settings = Settings.model_validate(
            {
                "data_dir": data,
                "demo": {"enabled": False},
                "database": {"url": f"sqlite+aiosqlite:///{data / 'bench.db'}"},
            }
        )
        token = PLEX_TOKEN if kind == "plex" else JELLYFIN_TOKEN
        async with open_container(settings) as container:
            source = await container.media_servers.create(
                SourceKind(kind), "Bench", url, SecretStr(token)
            )
            info = await container.media_servers.test(source.id)
            (library,) = await container.media_servers.select_libraries(
                source.id, [info.libraries[0].external_id]
            )
            started = time.perf_counter()
            full = await container.libraries.scan(library.id)
            full_sec = time.perf_counter() - started
            assert full.status is ScanStatus.COMPLETED, full.error
            assert full.counts.added == items, full.counts
            async with httpx.AsyncClient() as client:
                await client.post(url + "/_bench/change")
            started = time.perf_counter()
            again = await container.libraries.scan(library.id)
            resync_sec = time.perf_counter() - started
            assert again.status is ScanStatus.COMPLETED, again.error
            assert again.counts.updated == round(items * CHANGED), again.counts
    finally:
        child.terminate()
        child.join(10)
    rate = items / full_sec
    print(
        f"{kind:<9} full sync of {items} items: {full_sec:6.2f} s ({rate:,.0f} items/s,"
        f" target <= {FULL_TARGET_SEC:g} s: {verdict(full_sec <= FULL_TARGET_SEC)})"
    )
    print(
        f"{kind:<9} resync with {CHANGED:.0%} changed: {resync_sec:6.2f} s"
        f" (target <= {RESYNC_TARGET_SEC:g} s: {verdict(resync_sec <= RESYNC_TARGET_SEC)})"
    )
    return full_sec, resync_sec


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--servers", default="plex,jellyfin,emby")
    parser.add_argument("--page-cap", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-sync-bench-") as work:
        for kind in args.servers.split(","):
            await bench(kind.strip(), args.items, Path(work), args.page_cap)
    print(f"peak RSS of the syncing process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
