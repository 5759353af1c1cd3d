"""The optional LLM planner against a fake OpenAI-compatible server on loopback: strict
JSON or STOP, and prompts that carry no secret, server address or home path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from exstreamtv.agent.llm import LLMPlanner, completions_url
from exstreamtv.agent.planner import STOP, Done, Goal, PlanState
from exstreamtv.agent.redact import PromptRedactor
from exstreamtv.config import LLMConfig
from exstreamtv.logs import SecretRedactor
from tests.agent.fake_llm import FakeLLM, serving_llm
from tests.agent.harness import make_harness

TOOLS = ("fetch_metadata_logs", "reparse_filename_metadata", "rebuild_xmltv")
API_KEY = "sk-live-4f9a8b7c6d5e"
PLEX_TOKEN = "plexTok3nValue99"
DB_PASSWORD = "hunter2-db-pass"


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    async with serving_llm() as served:
        yield served


def planner_for(fake: FakeLLM, secrets: SecretRedactor | None = None) -> LLMPlanner:
    config = LLMConfig(base_url=fake.url, api_key=SecretStr(API_KEY), model="tiny", timeout_sec=5)
    return LLMPlanner(config, PromptRedactor(secrets or SecretRedactor(), hosts=["plex.lan"]))


def state(*done: Done) -> PlanState:
    return PlanState(Goal.METADATA, 3, TOOLS, done, {"metadata_failure_ratio": 0.4})


async def test_a_valid_answer_becomes_the_next_step(fake: FakeLLM) -> None:
    fake.answers.append(
        json.dumps({"action": "reparse_filename_metadata", "reason": "placeholders",
                    "confidence": 0.7})
    )  # fmt: skip
    planner = planner_for(fake)
    try:
        step = await planner.next_step(state())
    finally:
        await planner.close()
    assert (step.action, step.reason, step.confidence) == (
        "reparse_filename_metadata", "placeholders", 0.7,
    )  # fmt: skip
    assert fake.paths == ["/v1/chat/completions"]
    request = json.loads(fake.bodies[0])
    assert request["model"] == "tiny"
    assert request["temperature"] == 0
    assert fake.headers[0]["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize(
    "answer",
    [
        "Sure! I would reparse the metadata.",
        '```json\n{"action": "rebuild_xmltv", "reason": "x", "confidence": 0.5}\n```',
        '{"action": "rebuild_xmltv", "reason": "x"}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": 0.5, "args": {"path": "/"}}',
        '{"action": "delete_everything", "reason": "x", "confidence": 0.9}',
        '{"action": "restart_channel", "reason": "not offered", "confidence": 0.9}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": 1.5}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": -0.1}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": NaN}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": true}',
        '{"action": "rebuild_xmltv", "reason": "x", "confidence": "0.5"}',
        '{"action": ["rebuild_xmltv"], "reason": "x", "confidence": 0.5}',
        '{"action": "rebuild_xmltv", "reason": 7, "confidence": 0.5}',
        '[{"action": "rebuild_xmltv", "reason": "x", "confidence": 0.5}]',
        "[" * 100_000,
        json.dumps({"action": "rebuild_xmltv", "reason": "x" * 100_000, "confidence": 0.5}),
        "",
        500,
        404,
    ],
)
async def test_anything_but_strict_json_naming_an_offered_tool_is_stop(
    fake: FakeLLM, answer: str | int
) -> None:
    fake.answers.append(answer)
    planner = planner_for(fake)
    try:
        step = await planner.next_step(state())
    finally:
        await planner.close()
    assert step.action == STOP


async def test_an_unreachable_server_is_stop(tmp_path: Path) -> None:
    from tests.support import free_port

    config = LLMConfig(base_url=f"http://127.0.0.1:{free_port()}", timeout_sec=2)
    planner = LLMPlanner(config, PromptRedactor(SecretRedactor()))
    try:
        assert (await planner.next_step(state())).action == STOP
    finally:
        await planner.close()


def test_the_completions_url_accepts_a_base_with_or_without_v1() -> None:
    assert completions_url("http://h:11434") == "http://h:11434/v1/chat/completions"
    assert completions_url("http://h:11434/v1/") == "http://h:11434/v1/chat/completions"


async def test_the_llm_never_receives_a_secret_a_server_address_or_a_home_path(
    fake: FakeLLM,
) -> None:
    secrets = SecretRedactor()
    secrets.register([API_KEY, PLEX_TOKEN, DB_PASSWORD])
    hostile = Done(
        "fetch_metadata_logs", ok=False,
        detail=(
            f"probe of /home/alice/Videos/Show/e1.mkv failed; source "
            f"http://plex.lan:32400/library/metadata/5?X-Plex-Token={PLEX_TOKEN} "
            f"db postgresql://app:{DB_PASSWORD}@db.internal/app key {API_KEY} "
            f"{Path.home()}/media/x.mkv /Users/bob/Movies/a.mp4 /root/secret.mkv"
        ),
        data={
            "reason_1": "NFO /home/alice/Videos/Show/tvshow.nfo cannot be read (3)",
            "api_key": API_KEY,
            "plex_token": "anything",
            "password": DB_PASSWORD,
            "server": "plex.lan",
        },
    )  # fmt: skip
    fake.answers.append(json.dumps({"action": "STOP", "reason": "ok", "confidence": 0.5}))
    planner = planner_for(fake, secrets)
    try:
        await planner.next_step(state(hostile))
    finally:
        await planner.close()
    body = fake.bodies[0].decode()
    for leaked in (API_KEY, PLEX_TOKEN, DB_PASSWORD, "plex.lan", "db.internal", "alice",
                   "/Users/bob", "/root/", str(Path.home()) + "/"):  # fmt: skip
        assert leaked not in body, leaked
    assert "Show/e1.mkv" in body  # what is useful stays: the file and the problem
    assert "cannot be read" in body


async def test_the_agent_loop_follows_the_llm_and_stops_on_nonsense(
    fake: FakeLLM, tmp_path: Path
) -> None:
    fake.answers.extend([
        json.dumps({"action": "fetch_metadata_logs", "reason": "look", "confidence": 0.8}),
        "I think you should restart everything",
    ])  # fmt: skip
    planner = planner_for(fake)
    h = make_harness(tmp_path, planner)
    try:
        run = await h.agent.run(Goal.METADATA, 2)
    finally:
        await planner.close()
    assert [s.tool for s in run.steps] == ["fetch_metadata_logs"]
    assert run.outcome == "completed"
    assert run.reason == "planner answer is not JSON"
    assert len(fake.bodies) == 2
    second = json.loads(fake.messages(1)[1]["content"])
    assert second["done"][0]["tool"] == "fetch_metadata_logs"
    assert "restart_channel" in second["tools"]


def test_redaction_bounds_hostile_shapes() -> None:
    redactor = PromptRedactor(SecretRedactor())
    nested: dict[str, object] = {}
    deepest = nested
    for _ in range(5000):
        deepest["x"] = {}
        deepest = deepest["x"]  # type: ignore[assignment]
    shown = json.dumps(redactor.redact({"deep": nested, "many": list(range(10_000)),
                                        "long": "a" * 1_000_000}))  # fmt: skip
    assert len(shown) < 10_000
    assert json.loads(shown)["many"] == list(range(50))
