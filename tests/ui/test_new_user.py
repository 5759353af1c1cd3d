"""A new user with a folder of their own shows and movies builds, runs and watches a channel
from the browser alone (an empty install; the test never calls the API itself), then every
page is photographed at desktop and phone width (in pytest's temporary folder, under
``artefacts/``) and checked with axe-core."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, expect

from tests.ui.conftest import Station, Watched, watch

pytestmark = pytest.mark.slow

TIMEOUT_MS = 30_000
AXE = (
    Path(__file__).resolve().parents[2]
    / "src/exstreamtv/web/ui/vendor/node_modules/axe-core/axe.min.js"
)
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)
# Serious or worse; the whole page, every rule axe-core runs by default.
AXE_RUN = (
    "axe.run(document).then(r => r.violations.filter(v => ['serious', 'critical']"
    ".includes(v.impact)).map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' '))"
    ".slice(0, 3).join(' | ')}`))"
)


def ffmpeg(*args: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True, timeout=120
    )


@pytest.fixture(scope="module")
def home_media(empty_station: Station) -> Path:
    """Two shows (10-minute episodes), a movie and a station ident, as a person's folder."""
    root = empty_station.data_dir.parent / "my-media"
    short = root.parent / "ten-seconds.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i",
           "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", "-g", "50", "-c:a", "aac", "-shortest",
           str(short))  # fmt: skip
    episode = root.parent / "ten-minutes.mp4"
    ffmpeg("-stream_loop", "59", "-i", str(short), "-c", "copy", str(episode))  # a remux: quick
    files = [
        "TV/Alpha Show/Season 01/Alpha Show - S01E01 - First Light.mp4",
        "TV/Alpha Show/Season 01/Alpha Show - S01E02 - Second Wind.mp4",
        "TV/Beta Show/Season 01/Beta Show - S01E01 - Opening Night.mp4",
        "Movies/Long Film (2021)/Long Film (2021).mp4",
    ]
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.link(episode, root / name)
    (root / "Extras").mkdir()
    os.link(short, root / "Extras" / "Station Ident.mp4")
    return root


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "artefacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def user(browser: Browser, empty_station: Station) -> Iterator[Watched]:
    context = browser.new_context(base_url=empty_station.url, viewport=DESKTOP)
    try:
        yield watch(context.new_page())
    finally:
        context.close()


def logo_png(folder: Path) -> FilePayload:
    """A real PNG (an orange square with a hole), as a user's logo file would be."""
    path = folder / "logo.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=orange:s=64x64", "-frames:v", "1", str(path))
    return FilePayload(name="my-logo.png", mimeType="image/png", buffer=path.read_bytes())


def played_past(page: Page, selector: str, seconds: float, deadline_sec: float = 45) -> float:
    """Wait until the video's currentTime passes ``seconds``; returns it. (Polled through
    the debugger protocol: the page's CSP forbids the eval that wait_for_function uses.)"""
    deadline = time.monotonic() + deadline_sec
    while time.monotonic() < deadline:
        played = float(page.evaluate(f"document.querySelector('{selector}').currentTime"))
        if played > seconds:
            return played
        page.wait_for_timeout(250)
    pytest.fail(f"{selector} did not pass {seconds} s: {page.locator('main').inner_text()[:500]}")


def test_a_new_user_builds_runs_and_watches_a_channel_from_the_browser(
    user: Watched, empty_station: Station, home_media: Path, artefacts: Path
) -> None:
    page = user.page
    expect.set_options(timeout=15_000)  # a loaded machine; each wait still ends at its state
    add_and_scan(page, home_media)
    make_collections(page)
    make_filler_and_profile(page)
    make_schedule(page)
    make_channel(page, logo_png(artefacts))
    title = watch_both_ways(page)
    find_in_guide(page, title)
    edit_schedule_while_watching(page)
    rename_keeps_the_watermark(page)
    troubleshoot(page)
    sweep(page, artefacts)
    user.assert_clean("404 (Not Found)")  # /watch/404 is a 404 page on purpose


def add_and_scan(page: Page, folder: Path) -> None:
    page.goto("/libraries")
    form = page.get_by_role("region", name="Add a local folder")
    form.get_by_label("Name").fill("My media")
    form.get_by_label("Folders").fill(str(folder))
    page.get_by_role("button", name="Add and scan").click()
    card = page.locator("li", has=page.get_by_role("link", name="My media"))
    expect(card.locator("progress")).to_be_visible()
    expect(card.get_by_role("status")).to_contain_text("Scan completed", timeout=TIMEOUT_MS)
    expect(card.get_by_role("status")).to_contain_text("5 added")


def make_collections(page: Page) -> None:
    page.goto("/collections")
    expect(page.get_by_role("link", name="Alpha Show · Season 1")).to_be_visible()  # by the scan
    page.get_by_role("link", name="New smart collection").click()
    page.get_by_label("Name").fill("Evening shows")
    page.get_by_role("checkbox", name="Episode").check()
    page.get_by_label("Words anywhere").fill("show")
    expect(page.locator("#preview-status")).to_contain_text("3 items, 30 min")
    page.get_by_role("button", name="Save collection").click()
    expect(page.get_by_role("link", name="Evening shows")).to_be_visible()

    page.get_by_role("link", name="New manual collection").click()
    page.get_by_label("Name").fill("Bumpers")
    page.get_by_label("Search", exact=True).fill("ident")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Add Station Ident").click()
    expect(page.locator("#chosen")).to_contain_text("Station Ident")
    page.get_by_role("button", name="Save collection").click()
    expect(page.get_by_role("link", name="Bumpers")).to_be_visible()


def make_filler_and_profile(page: Page) -> None:
    page.goto("/filler")
    page.get_by_label("Name").fill("Station bumper")
    page.get_by_label("Kind").select_option(label="Pre-roll")
    page.get_by_label("Collection 1", exact=True).select_option(label="Bumpers")
    page.get_by_role("button", name="Add preset").click()
    expect(page.get_by_role("cell", name="Station bumper", exact=True)).to_be_visible()

    page.goto("/settings")  # a light profile: this machine is shared
    profile = page.locator("#profile-form")
    profile.get_by_label("Name").fill("Small")
    for label, value in (
        ("Width (even)", "480"),
        ("Height (even)", "270"),
        ("Encoder preset", "ultrafast"),
    ):
        profile.get_by_label(label).fill(value)
    page.get_by_role("button", name="Add profile").click()
    expect(page.get_by_role("heading", name="Small")).to_be_visible()


def make_schedule(page: Page) -> None:
    page.goto("/schedules/new")
    page.get_by_label("Name").fill("Evenings")
    page.get_by_role("button", name="Add slot").click()
    slot = page.locator("#slots > div").first
    slot.get_by_role("button", name=re.compile(r"^Remove .* from slot 1$")).click()  # the default
    page.get_by_label("Add a collection to slot 1").select_option(label="Evening shows")
    slot.get_by_text("Filler", exact=True).click()
    slot.get_by_label("Pre-roll").select_option(label="Station bumper")
    expect(page.locator("#preview-status")).to_contain_text("entries in the next 24 hours")
    expect(page.locator("#preview")).to_contain_text("Station Ident")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("link", name="Evenings")).to_be_visible()


def make_channel(page: Page, logo: FilePayload) -> None:
    page.goto("/channels/new")
    page.get_by_label("Number").fill("7")
    page.get_by_label("Name").fill("Seven")
    page.get_by_label("Logo (PNG").set_input_files(files=[logo])
    expect(page.get_by_role("img", name="The channel's logo")).to_be_visible()
    page.get_by_label("Stream profile").select_option(label="Small (transcode, 480×270)")
    page.get_by_label("Schedule").select_option(label="Evenings")
    page.get_by_label("Show a watermark over the picture").check()
    page.get_by_label("Corner").select_option("top_left")
    page.get_by_label("Width (% of the picture)").fill("12")
    page.get_by_label("Opacity (%)").fill("80")
    page.get_by_label("Now and then").check()
    page.get_by_label("Every (minutes)").fill("1")
    page.get_by_label("For (seconds)").fill("20")
    page.get_by_role("button", name="Save channel").click()
    expect(page.get_by_role("link", name="Seven", exact=True)).to_be_visible()


def watch_both_ways(page: Page) -> str:
    """MPEG-TS, then HLS: the picture advances both ways; returns what is on."""
    page.goto("/watch/7")
    page.get_by_label("Play as").select_option("ts")
    first = played_past(page, "#video", 1.0)
    played_past(page, "#video", first + 1.0, deadline_sec=15)
    expect(page.locator("#player-status")).to_contain_text("Playing MPEG-TS")
    page.get_by_label("Play as").select_option("hls")
    first = played_past(page, "#video", 0.5)
    played_past(page, "#video", first + 0.5, deadline_sec=15)
    expect(page.locator("#player-status")).to_contain_text("Playing HLS")
    expect(page.locator("#now")).to_contain_text(" S1E", timeout=TIMEOUT_MS)  # not a bumper
    on_now = page.locator("#now").inner_text()
    return on_now.removeprefix("On now: ").split(" S1E")[0]  # the show's title


def find_in_guide(page: Page, title: str) -> None:
    page.goto("/guide")
    row = page.get_by_role("region", name="Channel 7 Seven")
    current = row.locator(".cell.now")  # the programme on air, marked by the now-line
    expect(current).to_contain_text(title, timeout=TIMEOUT_MS)
    current.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(title)
    expect(dialog).to_contain_text("7 · Seven")
    page.keyboard.press("Escape")
    expect(current).to_be_focused()


def edit_schedule_while_watching(page: Page) -> None:
    viewer = page.context.new_page()
    viewer.goto("/watch/7")
    viewer.get_by_label("Play as").select_option("ts")
    before = played_past(viewer, "#video", 1.0)
    page.goto("/schedules")
    page.get_by_role("link", name="Evenings").click()
    page.get_by_label("Order").first.select_option("shuffle")
    page.get_by_role("button", name="Save schedule").click()
    expect(page).to_have_url(f"{page.url.split('/schedules')[0]}/schedules")
    saved_at = played_past(viewer, "#video", before)
    played_past(viewer, "#video", saved_at + 2.0, deadline_sec=20)  # it never stopped
    expect(viewer.locator("#player-status")).to_contain_text("Playing")
    viewer.close()


def rename_keeps_the_watermark(page: Page) -> None:
    page.goto("/channels/7/edit")
    expect(page.get_by_label("Show a watermark over the picture")).to_be_checked()
    page.get_by_label("Name").fill("Seven HD")
    page.get_by_role("button", name="Save channel").click()
    expect(page.get_by_role("link", name="Seven HD", exact=True)).to_be_visible()
    page.goto("/channels/7/edit")
    expect(page.get_by_label("Show a watermark over the picture")).to_be_checked()
    expect(page.get_by_label("Corner")).to_have_value("top_left")
    expect(page.get_by_label("Width (% of the picture)")).to_have_value("12")
    expect(page.get_by_label("Now and then")).to_be_checked()
    expect(page.get_by_label("Every (minutes)")).to_have_value("1")
    expect(page.get_by_label("For (seconds)")).to_have_value("20")
    expect(page.get_by_role("img", name="The channel's logo")).to_be_visible()


def troubleshoot(page: Page) -> None:
    page.goto("/troubleshooting")
    page.get_by_label("Find an item").fill("second")
    expect(page.get_by_label("Item", exact=True)).to_contain_text("Second Wind")
    page.get_by_label("Stream profile").select_option(label="Small (transcode, 480×270)")
    page.get_by_label("Seconds to play (1-30)").fill("4")
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.locator("#trial-status")).to_contain_text("Done", timeout=TIMEOUT_MS)
    expect(page.locator("pre").first).to_contain_text("ffmpeg -nostdin")
    expect(page.get_by_role("heading", name="The result (ffprobe)")).to_be_visible()
    played_past(page, "#trial-video", 0.5, deadline_sec=20)


def sweep(page: Page, folder: Path) -> None:
    """Every page at desktop and phone width (a screenshot each); no serious axe-core
    violation on any of them."""
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run make test (it installs it from npm)")
    script = AXE.read_text(encoding="utf-8")
    page.goto("/collections")
    smart = page.get_by_role("link", name="Evening shows").get_attribute("href")
    page.goto("/schedules")
    schedule = page.get_by_role("link", name="Evenings").get_attribute("href")
    pages = {
        "dashboard": "/", "channels": "/channels", "channel-new": "/channels/new",
        "channel-edit": "/channels/7/edit", "guide": "/guide", "watch": "/watch/7",
        "watch-missing": "/watch/404", "schedules": "/schedules", "schedule-new": "/schedules/new",
        "schedule-edit": str(schedule), "collections": "/collections",
        "collection-new": "/collections/new?kind=manual", "collection-smart": str(smart),
        "filler": "/filler", "libraries": "/libraries", "media": "/libraries/1",
        "settings": "/settings", "troubleshooting": "/troubleshooting", "logs": "/logs",
        "login": "/login",
    }  # fmt: skip
    problems: dict[str, list[str]] = {}
    for name, path in pages.items():
        page.set_viewport_size(DESKTOP)
        page.goto(path)
        if name not in {"watch-missing", "login"}:  # the pages without a script
            expect(page.locator("body")).to_have_attribute("data-ready", "yes")
        page.screenshot(path=folder / f"{name}-desktop.png", full_page=True)
        page.evaluate(script)
        found: list[str] = page.evaluate(AXE_RUN)
        if found:
            problems[name] = found
        page.set_viewport_size(PHONE)  # the same page: the layout follows the width
        page.screenshot(path=folder / f"{name}-phone.png")
        wide = int(page.evaluate("document.documentElement.scrollWidth"))
        if wide > PHONE["width"]:  # nothing may make the whole page scroll sideways
            problems[f"{name} (phone)"] = [f"the page is {wide} px wide"]
    assert problems == {}
