"""The web UI in Chromium against a real server: sign-in, every page, a channel with a
time-slot schedule in the guide and XMLTV, a library scan, playback, an approval."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, Route, expect

from tests.support import make_clip
from tests.ui.conftest import Station, Watched

pytestmark = pytest.mark.slow

# Signed in from afar: the pages that read the most of the API (every page, at both widths,
# is swept by tests/ui/test_new_user.py).
PAGES = {
    "dashboard": "/", "channels": "/channels", "channel-new": "/channels/new",
    "channel-from-sentence": "/channels/from-sentence",
    "channel-edit": "/channels/1/edit", "guide": "/guide", "schedules": "/schedules",
    "schedule-new": "/schedules/new", "schedule-edit": "/schedules/2",
    "collections": "/collections", "libraries": "/libraries", "media": "/libraries/1",
    "settings": "/settings", "troubleshooting": "/troubleshooting", "logs": "/logs",
}  # fmt: skip
TIMEOUT_MS = 20_000


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 90, 160)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()  # a real image: the server decodes and re-encodes uploads


def test_signing_in_opens_every_page_without_console_errors(
    remote_page: Watched, station: Station
) -> None:
    page = remote_page.page
    page.goto("/channels")
    expect(page).to_have_url(f"{station.url}/login?next=/channels")
    remote_page.shoot("login")
    page.get_by_label("Admin key").fill("not the key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That is not the admin key.")
    page.get_by_label("Admin key").fill(station.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{station.url}/channels")
    expect(page.get_by_role("link", name="Demo Shows", exact=True)).to_be_visible()
    for name, path in PAGES.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        remote_page.shoot(name)
    page.goto("/")
    expect(page.get_by_role("heading", name="On air now")).to_be_visible()
    expect(page.locator("#onair progress").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{station.url}/login")
    remote_page.assert_clean()


def test_channel_with_a_time_slot_schedule_shows_in_the_guide_and_xmltv(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.goto("/schedules/new")
    page.get_by_label("Name").fill("Evening slots")
    page.get_by_role("button", name="Add slot").click()
    page.get_by_role("button", name="Add slot").click()
    starts = page.get_by_label("Starts at")
    starts.nth(1).fill("12:00")
    # A build on the server: a library of short clips (another test's) can make it thousands.
    status = page.locator("#preview-status")
    expect(status).to_contain_text("entries in the next 24 hours", timeout=TIMEOUT_MS)
    expect(page.locator("#preview li").first).to_be_visible()
    local_page.shoot("schedule-preview")
    page.get_by_role("button", name="Save schedule").click()
    expect(page).to_have_url(f"{station.url}/schedules")
    expect(page.get_by_role("link", name="Evening slots")).to_be_visible()

    page.goto("/channels/new")
    page.get_by_role("button", name="Save channel").click()  # empty: refused in place
    expect(page.locator("#number-error")).to_have_text("Enter a number like 5 or 5.1.")
    expect(page.get_by_label("Number")).to_be_focused()
    page.get_by_label("Number").fill("1")  # taken by a demo channel
    page.get_by_label("Name").fill("Slot <b>Channel</b>")
    page.get_by_label("Group").fill("Tests")
    png = FilePayload(name="logo.png", mimeType="image/png", buffer=PNG)
    page.get_by_label("Logo (PNG").set_input_files(files=[png])
    expect(page.get_by_role("status").filter(has_text="Image uploaded")).to_be_visible()
    page.get_by_label("Schedule").select_option(label="Evening slots")
    page.get_by_role("button", name="Save channel").click()
    expect(page.locator("#number-error")).to_have_text("channel number 1 is already in use")
    expect(page.get_by_label("Number")).to_have_attribute("aria-invalid", "true")
    local_page.shoot("channel-number-taken")
    page.get_by_label("Number").fill("42")
    page.get_by_role("button", name="Save channel").click()
    expect(page).to_have_url(f"{station.url}/channels")
    expect(page.get_by_role("link", name="Slot <b>Channel</b>", exact=True)).to_be_visible()

    page.goto("/guide")
    row = page.get_by_role("region", name="Channel 42 Slot <b>Channel</b>")
    expect(row.get_by_role("button").first).to_be_visible(timeout=TIMEOUT_MS)
    local_page.shoot("guide-with-channel")
    row.get_by_role("button").first.focus()  # by keyboard: demo programmes are seconds long
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("42 · Slot <b>Channel</b>")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    xmltv = httpx.get(f"{station.url}/iptv/xmltv.xml", timeout=30).text
    assert "<display-name>Slot &lt;b&gt;Channel&lt;/b&gt;</display-name>" in xmltv
    local_page.assert_clean("409 (Conflict)")


def test_a_day_of_one_second_clips_previews_as_a_page_and_a_bar_and_late_answers_are_dropped(
    local_page: Watched, station: Station
) -> None:
    folder = station.data_dir.parent / "flood-media"
    for n in range(1, 4):
        make_clip(folder / "Flood Show" / "Season 01" / f"Flood Show - S01E0{n}.mp4", 1.0)
    with httpx.Client(base_url=f"{station.url}/api", timeout=30) as api:
        library = api.post("/libraries", json={"name": "Flood", "paths": [str(folder)]}).json()
        api.post(f"/libraries/{library['id']}/scan").raise_for_status()
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while api.get(f"/libraries/{library['id']}/scan").json()["status"] != "completed":
            assert time.monotonic() < deadline, "the scan did not finish"
            time.sleep(0.2)
        smart = {"name": "Flood clips", "kind": "smart", "query": {"show": "Flood Show"}}
        api.post("/collections", json=smart).raise_for_status()
    page = local_page.page
    held: list[Route] = []
    holding = [True]

    def hold(route: Route) -> None:  # the first previews are answered late, after a newer one
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/schedules/preview*", hold)
    page.goto("/schedules/new")
    page.get_by_label("Name").fill("Flood")
    page.get_by_role("button", name="Add slot").click()
    chips = page.get_by_role("list", name="Collections of slot 1")
    chips.get_by_role("button").click()  # the default collection out, the clips in
    page.get_by_label("Add a collection to slot 1").select_option(label="Flood clips")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not held:
        assert time.monotonic() < deadline, "no preview was asked for"
        page.wait_for_timeout(50)
    holding[0] = False
    page.get_by_label("Starts at").fill("06:00")
    status = page.locator("#preview-status")
    expect(status).to_contain_text("86400 entries in the next 24 hours", timeout=TIMEOUT_MS)
    expect(status).to_contain_text("(first 200 listed)")
    expect(page.locator("#preview li")).to_have_count(200)
    assert page.locator("#timeline span").count() <= 1001
    for stale in held:  # older previews answered after the newest: they must not show
        stale.fulfill(json={"entries": [], "total": 7, "overview": [], "warnings": []})
    page.wait_for_timeout(300)
    expect(status).to_contain_text("86400 entries")
    local_page.assert_clean()


def test_adding_a_local_folder_scans_it_with_a_live_progress_bar(
    local_page: Watched, station: Station
) -> None:
    folder = station.data_dir.parent / "ui-media"
    for n in range(1, 4):
        make_clip(folder / "Clip Show" / "Season 01" / f"Clip Show - S01E0{n}.mp4", 1.0)
    (folder / "broken.mp4").write_bytes(b"not a video")
    page = local_page.page
    page.goto("/libraries")
    form = page.get_by_role("region", name="Add a local folder")
    form.get_by_label("Name").fill("Clips")
    form.get_by_label("Folders").fill(str(folder))
    page.get_by_role("button", name="Add and scan").click()
    card = page.locator("li", has=page.get_by_role("link", name="Clips"))
    expect(card.get_by_role("status")).to_contain_text("Scan completed", timeout=TIMEOUT_MS)
    expect(card.locator("progress")).to_have_attribute("value", "100")
    expect(card.get_by_role("status")).to_contain_text("1 failed")
    local_page.shoot("library-scanned")
    held: list[Route] = []

    def hold_everything(route: Route) -> None:  # the page's first listing answers late
        if "status=failed" in route.request.url:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/media?*", hold_everything)
    card.get_by_role("link", name="Clips").click()
    expect(page.locator("#problems li")).not_to_have_count(0)  # the page's script is running
    page.get_by_label("Show", exact=True).select_option("failed")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#media tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#media tbody")).to_contain_text("failed")
    assert held, "the first listing was not asked for"
    for stale in held:  # all four items, answered after the filter: not drawn over it
        stale.continue_()
    page.wait_for_timeout(300)
    expect(rows).to_have_count(1)
    page.reload()  # the filter is in the address: a reload (or a shared link) keeps it
    expect(page.get_by_label("Show", exact=True)).to_have_value("failed")
    expect(rows).to_have_count(1)
    local_page.shoot("library-failed-items")
    local_page.assert_clean()


def test_a_media_server_is_added_and_its_connection_tested(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.goto("/libraries")
    servers = page.get_by_role("region", name="Media servers (Plex, Jellyfin, Emby)")
    servers.get_by_label("Type").select_option("jellyfin")
    servers.get_by_label("Name").fill("Den")
    servers.get_by_label("URL").fill("http://127.0.0.1:9")  # nothing listens on the discard port
    servers.get_by_label("Token or API key").fill("not-a-real-token")
    servers.get_by_role("button", name="Add media server").click()
    servers.get_by_role("button", name="Test connection to Den").click()
    expect(servers.get_by_role("status")).to_contain_text("Failed:", timeout=TIMEOUT_MS)
    assert "not-a-real-token" not in page.content()
    local_page.shoot("media-server-test")
    local_page.assert_clean("503 (Service Unavailable)")


def test_watching_a_channel_plays_video_that_advances(
    local_page: Watched, station: Station
) -> None:
    hls = httpx.get(f"{station.url}/iptv/channel/1.m3u8", timeout=30)
    if hls.status_code != 200:
        pytest.skip(f"the server does not serve HLS yet ({hls.status_code})")
    page = local_page.page
    page.goto("/watch/1")
    first = _played_past(page, 1.0, deadline_sec=45)
    _played_past(page, first + 1.0, deadline_sec=10)
    expect(page.locator("#now")).to_contain_text("On now:")
    local_page.shoot("watch")
    local_page.assert_clean()


def test_watch_from_the_start_replays_the_programme_on_now_and_back_to_live(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/watch/1")
    _played_past(page, 0.5, deadline_sec=45)
    button = page.get_by_role("button", name="from the start")
    expect(button).to_be_visible(timeout=TIMEOUT_MS)
    button.click()
    expect(page.get_by_role("button", name="Back to live")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#player-status")).to_contain_text("from its start", timeout=45_000)
    replays = [url for url in asked if "/catchup.ts?" in url]
    assert replays, asked
    query = httpx.URL(replays[-1]).params
    aired = httpx.get(
        f"{station.url}/api/channels/1/now", params={"at": query["start"]}, timeout=30
    ).json()
    # The replay is of a programme, from its first instant to its end.
    assert (aired["entry"]["start"], aired["entry"]["finish"]) == (query["start"], query["end"])
    first = _played_past(page, 0.5, deadline_sec=30)
    _played_past(page, first + 1.0, deadline_sec=10)
    expect(page.locator("#now")).to_contain_text("Replaying")
    page.get_by_role("button", name="Back to live").click()
    expect(page.locator("#player-status")).not_to_contain_text("from its start", timeout=TIMEOUT_MS)
    local_page.assert_clean()


def test_a_programme_that_began_is_watched_from_its_start_from_the_guide(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.goto("/guide")
    row = page.get_by_role("region", name=re.compile(r"^Channel 1 "))
    on_now = row.get_by_role("button", name=re.compile(r"on now$"))
    expect(on_now).to_be_visible(timeout=TIMEOUT_MS)
    on_now.focus()  # by keyboard: demo programmes are seconds long
    page.keyboard.press("Enter")
    link = page.get_by_role("dialog").get_by_role("link", name="from the start")
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    link.click()
    expect(page).to_have_url(re.compile(r"/watch/1\?start="))
    expect(page.locator("#player-status")).to_contain_text("from its start", timeout=45_000)
    expect(page.get_by_role("button", name="Back to live")).to_be_visible()
    local_page.assert_clean()


def test_a_past_span_plays_over_hls_as_a_whole_programme_that_seeks(
    local_page: Watched, station: Station
) -> None:
    deadline = time.monotonic() + 60
    while True:  # a span that has wholly aired: 20 s back, 18 s long
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
        aired = httpx.get(
            f"{station.url}/api/channels/1/now", params={"at": start.isoformat()}, timeout=30
        )
        if aired.status_code == 200 and aired.json()["entry"] is not None:
            break
        assert time.monotonic() < deadline, aired.text
        time.sleep(1)
    end = start + timedelta(seconds=18)
    page = local_page.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    query = urlencode({"start": start.isoformat(), "end": end.isoformat(), "title": "Past"})
    page.goto(f"/watch/1?{query}")
    page.get_by_label("Play as").select_option("hls")
    _played_past(page, 1.0, deadline_sec=45)
    duration = float(page.evaluate("document.getElementById('video').duration"))
    assert abs(duration - 18) < 1, duration  # the whole span at once, not a live window
    page.evaluate("document.getElementById('video').currentTime = 13")  # a seek ahead
    _played_past(page, 14.0, deadline_sec=30)
    assert any("/catchup.m3u8?" in url for url in asked), asked
    assert any("/catchup/2.ts?" in url for url in asked), asked  # from the seek on
    local_page.assert_clean()


def _played_past(page: Page, seconds: float, deadline_sec: float) -> float:
    """Wait until the video's currentTime passes ``seconds``; returns it. (Polled through
    the debugger protocol: the page's CSP forbids the eval that wait_for_function uses.)"""
    deadline = time.monotonic() + deadline_sec
    while time.monotonic() < deadline:
        played = float(page.evaluate("document.getElementById('video').currentTime"))
        if played > seconds:
            return played
        page.wait_for_timeout(250)
    status = page.locator("#player-status").text_content()
    pytest.fail(f"the video did not pass {seconds} s (status: {status})")


def test_approving_a_held_agent_action(local_page: Watched, station: Station) -> None:
    run = httpx.post(
        f"{station.url}/api/agent/runs", json={"goal": "stream", "channel": "2"}, timeout=30
    )
    if run.status_code == 404:
        pytest.skip("the server has no agent API yet")
    assert run.status_code == 201, run.text
    held = [a for a in httpx.get(f"{station.url}/api/agent/approvals").json()
            if a["status"] == "pending"]  # fmt: skip
    assert held, run.json()
    page = local_page.page
    page.goto("/troubleshooting")
    approve = page.get_by_role("button", name=f"Approve {held[0]['tool']} {held[0]['id']}")
    expect(approve).to_be_visible()
    local_page.shoot("troubleshooting-approval")
    approve.click()
    expect(approve).to_be_hidden()
    decided = {a["id"]: a for a in httpx.get(f"{station.url}/api/agent/approvals").json()}
    assert decided[held[0]["id"]]["status"] != "pending"
    page.get_by_label("What is wrong?").fill("Why is channel 2 not playing?")
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("heading", name="Evidence")).to_be_visible(timeout=TIMEOUT_MS)
    local_page.shoot("troubleshooting-answer")
    local_page.assert_clean()


def test_a_stream_profile_is_added_with_its_errors_shown_at_the_field(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.goto("/settings")
    form = page.get_by_role("form", name="Profile")
    form.get_by_label("Name", exact=True).fill("Phone 480p")
    form.get_by_label("Width (even)").fill("853")
    form.get_by_label("Height (even)").fill("480")
    form.get_by_role("button", name="Add profile").click()
    expect(form.get_by_label("Width (even)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#profile-width-error")).not_to_be_empty()
    form.get_by_label("Width (even)").fill("854")
    form.get_by_role("button", name="Add profile").click()
    expect(page.get_by_role("heading", name="Phone 480p")).to_be_visible()
    expect(page.get_by_text("libx264 854×480")).to_be_visible()
    local_page.shoot("settings-profile-added")
    local_page.assert_clean("422 (Unprocessable")


def test_logs_are_filtered_by_text(local_page: Watched, station: Station) -> None:
    page = local_page.page
    page.goto("/logs")
    page.get_by_label("Contains").fill("playout continue")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("#logs tbody tr")
    expect(rows.first).to_contain_text("playout continue")
    for text in rows.all_inner_texts():
        assert "playout continue" in text
    local_page.assert_clean()


def test_pages_fit_a_phone_and_follow_the_system_theme(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("dashboard", "channels", "guide", "schedule-edit", "settings"):
        page.goto(PAGES[name])
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (name, width)  # nothing forces sideways scrolling of the page
        local_page.shoot(f"phone-{name}")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert light != dark, light
    local_page.shoot("phone-settings-dark")
    local_page.assert_clean()


def test_a_right_to_left_override_in_a_name_is_isolated(
    local_page: Watched, station: Station
) -> None:
    name = "\u202egnirts lasrever"
    created = httpx.post(f"{station.url}/api/channels", json={"number": "88", "name": name})
    assert created.status_code == 201, created.text
    page = local_page.page
    page.goto("/channels")
    shown = page.locator("bdi", has_text="lasrever").first
    expect(shown).to_have_text(name)
    assert shown.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    local_page.assert_clean()


def test_a_channel_described_in_a_sentence_is_previewed_then_created(
    local_page: Watched, station: Station
) -> None:
    page = local_page.page
    page.goto("/channels")
    page.get_by_role("link", name="New channel from a sentence").click()
    expect(page.get_by_label("Time zone of those times")).not_to_have_value("")
    page.get_by_label("Describe the channel").fill("delete every channel <script>x</script>")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert").first).to_contain_text("nothing in that sentence names")
    page.get_by_label("Describe the channel").fill(
        "Tone Patrol on weekday mornings, movies at night"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#plan-collections")).to_contain_text("Tone Patrol")
    expect(page.locator("#plan-slots")).to_contain_text("Mon, Tue, Wed, Thu, Fri")
    expect(page.locator("#plan-preview li").first).to_be_visible()
    local_page.shoot("channel-plan-preview")
    before = httpx.get(f"{station.url}/api/channels", timeout=30).json()
    page.get_by_label("Name").fill("Sentence TV")
    page.get_by_label("Number").fill("77")
    page.get_by_role("button", name="Create channel").click()
    expect(page).to_have_url(f"{station.url}/channels")
    expect(page.get_by_role("link", name="Sentence TV", exact=True)).to_be_visible()
    after = httpx.get(f"{station.url}/api/channels", timeout=30).json()
    assert [c["number"] for c in after if c not in before] == ["77"]
    local_page.assert_clean("status of 422")  # the refused sentence
