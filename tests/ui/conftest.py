"""Browser tests: a real `exstreamtv serve` driven by Debian's Chromium (with the demo, or
an empty install for the new-user scenario).

Screenshots go to ``artifacts/screenshots/`` (not committed); the scenario's sweep of every
page goes to ``artefacts/`` in pytest's temporary folder. Every page records its console
errors and uncaught exceptions; a test fails if any appear.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.test_first_run import Server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Every request looks forwarded by a proxy, so the loopback server asks for the admin key.
PROXIED = {"X-Forwarded-For": "203.0.113.9"}
CONFIG = "ai_agent:\n  bounded_agent_enabled: true\n"  # so a run can hold an approval


@dataclass
class Station:
    """The running server and its admin key (read from its first-run output)."""

    server: Server
    key: str
    data_dir: Path

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Watched:
    """A page and the console errors and exceptions it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def shoot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    def assert_clean(self, *expected: str) -> None:
        """No console errors but the ``expected`` ones (one each, matched by substring):
        a refused request the test made on purpose is logged by the browser."""
        unexpected = list(self.errors)
        for text in expected:
            match = next((e for e in unexpected if text in e), None)
            assert match is not None, (text, self.errors)
            unexpected.remove(match)
        assert unexpected == [], unexpected


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    data_dir.mkdir()
    (data_dir / "exstreamtv.yaml").write_text(CONFIG)
    server = Server(data_dir)
    try:
        server.wait_ready()
        found = re.search(r"Admin API key.*?\n\W*([A-Za-z0-9_-]{43})\b", server.output(), re.S)
        assert found, server.output()
        yield Station(server, found.group(1), data_dir)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root without it
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def empty_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    """A first start with nothing configured and the demo off: what a new user with their
    own media sees."""
    data_dir = tmp_path_factory.mktemp("empty") / "data"
    data_dir.mkdir()
    (data_dir / "exstreamtv.yaml").write_text("demo:\n  enabled: false\n")
    server = Server(data_dir)
    try:
        server.wait_ready()
        yield Station(server, "", data_dir)
    finally:
        server.stop()


def watch(page: Page) -> Watched:
    watched = Watched(page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: watched.errors.append(f"{page.url}: {error}"))
    return watched


@pytest.fixture
def local_page(browser: Browser, station: Station) -> Iterator[Watched]:
    """A page of a browser on the server's machine (no sign-in needed)."""
    context = browser.new_context(base_url=station.url, viewport={"width": 1280, "height": 900})
    try:
        yield watch(context.new_page())
    finally:
        context.close()


@pytest.fixture
def remote_page(browser: Browser, station: Station) -> Iterator[Watched]:
    """A page whose requests arrive through a proxy: the UI asks it to sign in."""
    context = browser.new_context(base_url=station.url, extra_http_headers=PROXIED)
    try:
        yield watch(context.new_page())
    finally:
        context.close()
