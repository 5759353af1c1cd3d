"""The optional LLM reading of a channel sentence, against the fake OpenAI-compatible
server on loopback: a valid answer of offered values becomes the plan; anything else
leaves the rules' plan; the prompt is redacted; nothing is saved without confirmation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from exstreamtv.agent.channel_planner import MAX_SEGMENTS, parse_answer
from exstreamtv.services.container import Container, open_container
from tests.agent.fake_llm import FakeLLM, serving_llm
from tests.channel_library import add_channel_library
from tests.support import build_settings

API_KEY = "sk-live-channel-9f8e7d"
OFFERED = {"genres": ["Animation", "Horror"], "shows": ["Seinfeld"], "kinds": ["movie"]}


def content(**given: Any) -> dict[str, Any]:
    return {"genres": [], "shows": [], "kinds": [], "year_min": None, "year_max": None, **given}


def answer(*segments: dict[str, Any], rest: dict[str, Any] | None = None) -> str:
    return json.dumps({"segments": list(segments), "rest": rest})


def segment(**given: Any) -> dict[str, Any]:
    return {"content": content(genres=["Horror"]), "weekdays": [4], "start": "22:00",
            "end": "02:00", **given}  # fmt: skip


def test_a_valid_answer_of_offered_values_is_understood() -> None:
    found = parse_answer(
        answer(segment(), rest=content(shows=["Seinfeld"], kinds=["movie"])), OFFERED
    )
    assert found is not None
    [night] = found.segments
    assert (sorted(night.weekdays), night.windows) == ([4], ((22 * 60, 26 * 60),))
    assert [p.genres for p in night.picks] == [("Horror",)]
    assert found.rest is not None
    assert [(p.show, [k.value for k in p.kinds], p.label) for p in found.rest] == [
        ("Seinfeld", [], "Seinfeld"), (None, ["movie"], "Movies"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        "Sure! Here is the plan: {}",
        json.dumps({"segments": [], "rest": None}),
        json.dumps({"segments": [segment()], "rest": None, "delete": "all"}),
        answer(segment(content=content(genres=["Anime"]))),  # not offered
        answer(segment(content=content(shows=["Rm -rf /"]))),
        answer(segment(content=content(kinds=["channel"]))),
        answer(segment(content=content())),  # names nothing
        answer(segment(start="25:00")),
        answer(segment(start="8pm")),
        answer(segment(weekdays=[7])),
        answer(segment(weekdays=[])),
        answer(segment(weekdays=[True])),
        answer(segment(content=content(genres=["Horror"], year_min=1e9))),
        answer(*[segment()] * (MAX_SEGMENTS + 1)),
        answer(segment(), rest=content()),
        "[" * 100_000,
    ],
)
def test_anything_else_is_refused(bad: str) -> None:
    assert parse_answer(bad, OFFERED) is None


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    async with serving_llm() as served:
        yield served


@pytest.fixture
async def app(tmp_path: Path, fake: FakeLLM) -> AsyncIterator[Container]:
    settings = build_settings(
        tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        llm={"base_url": fake.url, "api_key": API_KEY, "model": "tiny", "timeout_sec": 5},
    )  # fmt: skip
    async with open_container(settings) as opened:
        await add_channel_library(opened)
        yield opened


async def test_the_llm_reading_becomes_the_plan(app: Container, fake: FakeLLM) -> None:
    fake.answers.append(
        answer(
            segment(content=content(genres=["Horror"], kinds=["movie"]), weekdays=[4, 5]),
            rest=content(shows=["Seinfeld"]),
        )
    )
    proposal = await app.channel_plans.propose("spooky stuff late on weekends, else Jerry's pal")
    assert proposal.plan.mode == "llm"
    assert [(c.pick.label, c.items) for c in proposal.collections] == [
        ("Horror Movies", 3), ("Seinfeld", 4),
    ]  # fmt: skip
    assert [f"{s.start:%H:%M} {sorted(s.weekdays)}" for s in proposal.plan.slots] == [
        "02:00 [5, 6]", "22:00 [4, 5]",
    ]  # fmt: skip
    assert await app.channels.channels() == []  # a preview only
    request = json.loads(fake.bodies[-1])
    assert request["messages"][0]["role"] == "system"
    offered = json.loads(request["messages"][1]["content"])["library"]
    assert "Horror" in offered["genres"] and "Seinfeld" in offered["shows"]


async def test_an_unusable_answer_leaves_the_rules_plan(app: Container, fake: FakeLLM) -> None:
    fake.answers.append(answer(segment(content=content(shows=["Delete Every Channel"]))))
    proposal = await app.channel_plans.propose("movies at night")
    assert proposal.plan.mode == "rules"
    assert [c.pick.label for c in proposal.collections] == ["Movies"]
    assert any("could not be used" in note for note in proposal.plan.notes)
    fake.answers.append(503)
    assert (await app.channel_plans.propose("movies at night")).plan.mode == "rules"


async def test_the_prompt_carries_no_key_address_or_home_path(
    app: Container, fake: FakeLLM
) -> None:
    app.redactor.register(["hunter2-secret"])
    await app.channel_plans.propose(
        "movies from http://admin:hunter2-secret@plex.lan:32400/library?X-Plex-Token=abc "
        "and /home/alice/films at night"
    )
    sent = fake.bodies[-1].decode()
    for leaked in (API_KEY, "hunter2-secret", "plex.lan", "X-Plex-Token", "alice"):
        assert leaked not in sent
    assert fake.headers[-1]["authorization"] == f"Bearer {API_KEY}"
