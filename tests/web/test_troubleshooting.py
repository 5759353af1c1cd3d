"""``POST /api/troubleshoot``, ``GET /api/logs`` and ``GET /api/metadata/health`` over HTTP:
answers with evidence, self-resolution triggers (and their recursion guard), hostile input,
and secrets that never come back."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from exstreamtv.agent.metadata_resolution import ResolutionTicket
from exstreamtv.services.container import Container, open_container
from tests.lineups import movie, on_air
from tests.support import build_settings
from tests.web.client import assert_problem, create_and_scan, open_client

SECRET = "sk-llm-key-0123456789"
log = logging.getLogger("exstreamtv.playback.session")


def recording(asked: list[tuple[int | None, str]]) -> Callable[[int | None, str], ResolutionTicket]:
    """A ``resolve`` that records each request and starts run 7."""

    def resolve(scope: int | None, trigger: str) -> ResolutionTicket:
        asked.append((scope, trigger))
        return ResolutionTicket("started", 7)

    return resolve


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Container]:
    settings = build_settings(
        tmp_path / "data",
        f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        llm={"api_key": SECRET},
        ai_agent={"metadata_self_resolution_enabled": True},
    )
    async with open_container(settings) as container:
        yield container


@pytest.fixture
async def client(app: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(app) as opened:
        yield opened


async def test_the_answer_comes_from_recent_log_lines_with_evidence(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        log.warning("channel 12 stalled: stopping its FFmpeg", extra={"channel": "12"})

    response = await client.post("/api/troubleshoot", json={"question": "Channel 12 freezes"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert "ffmpeg error" in body["answer"]
    assert any("channel 12 stalled" in line for line in body["evidence"])
    assert body["findings"][0] == {"issue": "ffmpeg_error", "count": 3, "channels": ["12"]}
    assert body["triggered_resolution"] is False
    assert body["mode"] == "rules"


async def test_a_guide_question_asks_for_self_resolution_once(
    client: httpx.AsyncClient, app: Container
) -> None:
    asked: list[tuple[int | None, str]] = []
    app.troubleshooting.resolve = recording(asked)

    response = await client.post("/api/troubleshoot", json={"question": "Why is the EPG empty?"})

    body = response.json()
    assert (body["triggered_resolution"], body["resolution"], body["resolution_run_id"]) == (
        True,
        "started",
        7,
    )
    assert asked == [(None, "troubleshooting")]
    stream = await client.post("/api/troubleshoot", json={"question": "Is the stream ok?"})
    assert stream.json()["triggered_resolution"] is False
    assert len(asked) == 1


async def test_with_self_resolution_off_a_guide_question_asks_for_nothing(
    client: httpx.AsyncClient, app: Container
) -> None:
    asked: list[tuple[int | None, str]] = []
    app.troubleshooting.resolve = recording(asked)
    app.troubleshooting.resolution_enabled = False

    response = await client.post("/api/troubleshoot", json={"question": "Why is the EPG empty?"})

    assert response.json()["triggered_resolution"] is False
    assert asked == []


async def test_inside_a_resolution_run_the_service_never_asks_for_another(
    client: httpx.AsyncClient, app: Container
) -> None:
    asked: list[tuple[int | None, str]] = []
    app.troubleshooting.resolve = recording(asked)
    app.troubleshooting.in_resolution = lambda: True

    response = await client.post("/api/troubleshoot", json={"question": "placeholder titles?"})

    assert response.json()["triggered_resolution"] is False
    assert asked == []


async def test_a_failing_resolution_request_still_answers(
    client: httpx.AsyncClient, app: Container
) -> None:
    def broken(scope: int | None, trigger: str) -> ResolutionTicket:
        raise RuntimeError("resolution unavailable")

    app.troubleshooting.resolve = broken
    response = await client.post("/api/troubleshoot", json={"question": "xmltv?"})
    assert response.status_code == 200
    assert response.json()["triggered_resolution"] is False


async def test_of_fifty_concurrent_guide_questions_one_starts_the_run_and_the_rest_join_it(
    tmp_path: Path,
) -> None:
    flags = {"bounded_agent_enabled": True, "metadata_self_resolution_enabled": True}
    settings = build_settings(
        tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}", ai_agent=flags
    )
    async with open_container(settings) as app, open_client(app) as client:
        await on_air(app, "2", [movie("Film", year=2000)])  # a guide that validates
        resolution = app.automation.resolution
        inside, release = asyncio.Event(), asyncio.Event()
        real = resolution._ratio

        async def held(scope: int | None) -> float:  # the run waits here until released
            inside.set()
            await release.wait()
            return await real(scope)

        resolution._ratio = held
        ask = {"question": "Why are guide titles placeholders?"}
        answers = await asyncio.gather(
            *(client.post("/api/troubleshoot", json=ask) for _ in range(50))
        )
        await asyncio.wait_for(inside.wait(), 30)
        release.set()
        await asyncio.gather(*resolution._pending.values())

        bodies = [answer.json() for answer in answers]
        runs = list(app.automation.agent.runs)
        assert len(runs) == 1 and runs[0].trigger == "self_resolution:troubleshooting"
        assert Counter(b["resolution"] for b in bodies) == {"started": 1, "joined": 49}
        assert {b["resolution_run_id"] for b in bodies} == {runs[0].id}
        assert all(b["triggered_resolution"] for b in bodies)

        late = (await client.post("/api/troubleshoot", json=ask)).json()
        assert (late["triggered_resolution"], late["resolution"], late["resolution_run_id"]) == (
            False,
            "cooldown",
            None,
        )


@pytest.mark.parametrize(
    "body",
    [
        {"question": "x" * 2001},
        {"question": ""},
        {"question": 42},
        {"question": "ok", "extra": 1},
        {},
        ["question"],
    ],
)
async def test_invalid_questions_are_422_problems(client: httpx.AsyncClient, body: object) -> None:
    assert_problem(await client.post("/api/troubleshoot", json=body), 422)


async def test_a_whitespace_question_is_a_422_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/troubleshoot", json={"question": "   \n\t "}), 422)


async def test_a_huge_body_is_refused_without_echoing_it(client: httpx.AsyncClient) -> None:
    question = "guide " + "A" * 1_000_000
    response = await client.post("/api/troubleshoot", json={"question": question})
    assert_problem(response, 422)
    assert "AAAAAAAAAA" not in response.text


@pytest.mark.parametrize(
    "question",
    [
        "Emoji 📺 RTL עברית العربية guide?",
        "Control \x00\x01\x1b[31m chars \u202e reversed",
        "noncharacter \ufffe and \U0010ffff",
        "Zalgo t̷̡̛e̵͇̓x̶̨̌t̴̗̆",
    ],
)
async def test_odd_unicode_questions_get_an_answer(
    client: httpx.AsyncClient, question: str
) -> None:
    payload = json.dumps({"question": question}).encode()  # \u escapes: any code point
    response = await client.post(
        "/api/troubleshoot", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["answer"]


async def test_a_lone_surrogate_is_a_422_problem_not_a_crash(client: httpx.AsyncClient) -> None:
    payload = json.dumps({"question": "\ud800 guide?"}).encode()
    response = await client.post(
        "/api/troubleshoot", content=payload, headers={"content-type": "application/json"}
    )
    assert_problem(response, 422)


async def test_a_logged_secret_never_appears_in_logs_or_answers(
    client: httpx.AsyncClient,
) -> None:
    log.warning("source unavailable: connecting with key %s failed", SECRET)
    log.error("media source unreachable: http://user:%s@plex.lan/ token=%s", SECRET, SECRET)

    logs = await client.get("/api/logs", params={"q": "unavailable"})
    answer = await client.post("/api/troubleshoot", json={"question": f"source? {SECRET}"})
    everything = await client.get("/api/logs", params={"limit": 500})

    assert logs.json()["records"], "the redacted record is kept"
    assert "***" in logs.text
    for response in (logs, answer, everything):
        assert response.status_code == 200
        assert SECRET not in response.text


async def test_logs_filter_by_level_and_text_newest_last(client: httpx.AsyncClient) -> None:
    log.warning("first warning about tuners")
    log.error("an error about tuners")
    log.warning("unrelated")

    errors = (await client.get("/api/logs", params={"level": "ERROR"})).json()["records"]
    assert [r["message"] for r in errors] == ["an error about tuners"]
    found = (await client.get("/api/logs", params={"q": "TUNERS"})).json()["records"]
    assert [r["message"] for r in found] == ["first warning about tuners", "an error about tuners"]
    last = (await client.get("/api/logs", params={"limit": 1})).json()["records"]
    assert [r["message"] for r in last] == ["unrelated"]
    assert found[0]["seq"] < found[1]["seq"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"level": "LOUD"}, {"q": "x" * 201}, {"limit": "many"}],
)
async def test_bad_log_queries_are_422_problems(
    client: httpx.AsyncClient, params: dict[str, str | int]
) -> None:
    assert_problem(await client.get("/api/logs", params=params), 422)


async def test_the_log_ring_keeps_a_bounded_number_of_records(
    client: httpx.AsyncClient, app: Container
) -> None:
    for n in range(5000):
        log.warning("flood %d", n)
    records = app.log_ring.records(limit=10_000)
    assert len(records) == 2000
    assert records[-1].message == "flood 4999"
    huge = "z" * 100_000
    log.warning("huge %s", huge)
    assert len(app.log_ring.records(limit=1)[0].message) <= 2000


async def test_metadata_health_lists_global_library_and_channels(
    client: httpx.AsyncClient, app: Container
) -> None:
    await on_air(app, "3", [movie("Film", year=2000), movie("No Year")])

    body = (await client.get("/api/metadata/health")).json()

    assert set(body) == {"made_at", "global", "library", "channels"}
    (channel,) = body["channels"]
    assert channel["number"] == "3"
    # The two movies alternate; the window's edges may hold one more of either.
    movies, missing = channel["movies"], channel["missing_year"]
    assert movies > 0 and abs(2 * missing - movies) <= 1
    assert channel["missing_year_ratio"] == pytest.approx(missing / movies)
    assert channel["warnings"] == ["missing_year"]
    assert channel["early_warning"] is True
    assert body["library"]["samples"] == 2
    assert body["library"]["lookups"]["scan"] == {"success": 2, "failure": 0}
    assert body["global"]["metadata_failure_ratio"] == 0.0


async def test_troubleshooting_playback_over_http_from_start_to_its_output_and_report(
    client: httpx.AsyncClient, app: Container, media_dir: Path
) -> None:
    await create_and_scan(client, app, media_dir)
    movie_id = (await client.get("/api/media", params={"kind": "movie"})).json()["items"][0]["id"]
    for hostile in (
        {"media_id": 0}, {"media_id": movie_id, "seconds": 31},
        {"media_id": movie_id, "seconds": 0}, {"media_id": movie_id, "start_sec": -1},
        {"media_id": movie_id, "colour": "red"}, {"media_id": 2**40},
        {"media_id": movie_id, "start_sec": "NaN"},
    ):  # fmt: skip
        assert_problem(await client.post("/api/troubleshooting/playback", json=hostile), 422)
    missing = {"media_id": 99_999}
    assert_problem(await client.post("/api/troubleshooting/playback", json=missing), 404)
    body = {"media_id": movie_id, "seconds": 1}
    started = await client.post("/api/troubleshooting/playback", json=body)
    assert started.status_code == 202, started.text
    trial = started.json()
    await app.trials.wait(trial["id"])
    done = (await client.get(f"/api/troubleshooting/playback/{trial['id']}")).json()
    assert done["status"] == "succeeded", done
    assert done["command_line"].startswith("ffmpeg ") and done["output"]["video_codec"] == "h264"
    output = await client.get(done["output_url"])
    assert output.headers["content-type"] == "video/mp2t" and output.content[0] == 0x47
    listed = (await client.get("/api/troubleshooting/playback")).json()
    assert [t["id"] for t in listed] == [trial["id"]]
    assert_problem(await client.get("/api/troubleshooting/playback/77"), 404)
    report = await client.get("/api/troubleshooting/report.zip")
    assert report.headers["content-type"] == "application/zip"
    assert "attachment" in report.headers["content-disposition"]
    assert report.content[:2] == b"PK"
