"""An optional LLM planner on any OpenAI-compatible ``/v1/chat/completions`` (Ollama serves
one), used when ``llm.base_url`` is set.

The model must answer with exactly one JSON object::

    {"action": "<tool name or STOP>", "reason": "<text>", "confidence": <0..1>}

Anything else (extra keys, an unknown tool, a confidence outside 0..1, prose around the
JSON, an HTTP error, a timeout) is a STOP: the LLM can only choose among the allow-listed
tools, and the policy and loop limits still apply to what it chooses. The prompt is built
only from :class:`~exstreamtv.agent.redact.PromptRedactor` output; the API key is sent as a
bearer token and appears nowhere else.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any

from exstreamtv.agent.planner import STOP, PlanState, Step
from exstreamtv.agent.redact import PromptRedactor
from exstreamtv.config import LLMConfig

if TYPE_CHECKING:  # httpx loads with the first planner an LLM is configured for
    import httpx

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 64 * 1024
MAX_REASON = 300
SYSTEM_PROMPT = (
    "You plan maintenance steps for a live TV server. Choose the single next tool from the "
    "list given, or STOP when nothing more should be done. Answer with one JSON object and "
    'nothing else: {"action": "<tool or STOP>", "reason": "<short reason>", '
    '"confidence": <number from 0 to 1>}.'
)


def completions_url(base_url: str) -> str:
    """``base_url`` + ``/v1/chat/completions`` (a base already ending in ``/v1`` is kept)."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def parse_answer(content: str, tools: set[str]) -> Step:
    """The step in a model's answer; STOP with the reason when it is not valid."""
    try:
        answer = json.loads(content)
    except (ValueError, RecursionError):
        return Step(STOP, "planner answer is not JSON", 0.0)
    if not isinstance(answer, dict) or set(answer) != {"action", "reason", "confidence"}:
        return Step(STOP, "planner answer does not have exactly action, reason, confidence", 0.0)
    action, reason, confidence = answer["action"], answer["reason"], answer["confidence"]
    if not isinstance(action, str) or (action != STOP and action not in tools):
        return Step(STOP, "planner chose an action that is not an allowed tool", 0.0)
    if not isinstance(reason, str):
        return Step(STOP, "planner reason is not text", 0.0)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
        or not 0.0 <= confidence <= 1.0
    ):
        return Step(STOP, "planner confidence is not a number from 0 to 1", 0.0)
    return Step(action, reason[:MAX_REASON], float(confidence))


class LLMPlanner:
    """Plans through a chat-completions endpoint; owns its HTTP client (call :meth:`close`)."""

    def __init__(
        self,
        config: LLMConfig,
        redactor: PromptRedactor,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if config.base_url is None:
            raise ValueError("llm.base_url is not set")
        self._config, self._redactor = config, redactor
        self._url = completions_url(config.base_url)
        headers = {"Content-Type": "application/json"}
        if config.api_key is not None:
            headers["Authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        import httpx  # noqa: PLC0415 - see TYPE_CHECKING

        self._client = httpx.AsyncClient(
            timeout=config.timeout_sec, headers=headers, transport=transport, follow_redirects=False
        )

    async def close(self) -> None:
        await self._client.aclose()

    def prompt(self, state: PlanState) -> list[dict[str, str]]:
        """The chat messages for ``state``, built from redacted data only."""
        facts = {
            "goal": state.goal.value,
            "channel": state.channel,
            "tools": list(state.tools),
            "done": [
                {"tool": d.tool, "ok": d.ok, "detail": d.detail, "data": dict(d.data)}
                for d in state.done
            ],
            "facts": dict(state.facts),
        }
        body = json.dumps(self._redactor.redact(facts), ensure_ascii=False, sort_keys=True)
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": body}]

    async def next_step(self, state: PlanState) -> Step:
        content, failure = await self.complete(self.prompt(state))
        if content is None:
            return Step(STOP, failure, 0.0)
        return parse_answer(content, set(state.tools))

    async def complete(self, messages: list[dict[str, str]]) -> tuple[str | None, str]:
        """The model's answer to ``messages`` (built from redacted data only), or ``None``
        and why not (unreachable, an HTTP error, an oversized answer)."""
        payload: dict[str, Any] = {
            "model": self._config.model,
            "messages": messages,
            "temperature": 0,
            "stream": False,
        }
        import httpx  # noqa: PLC0415 - see TYPE_CHECKING

        try:
            response = await self._client.post(self._url, json=payload)
        except httpx.HTTPError as err:
            log.warning("LLM planner unreachable: %s", type(err).__name__)
            return None, "planner unreachable"
        if response.status_code != 200 or len(response.content) > MAX_RESPONSE_BYTES:
            log.warning("LLM planner answered HTTP %s", response.status_code)
            return None, f"planner answered HTTP {response.status_code}"
        return _content(response), ""


def _content(response: httpx.Response) -> str:
    """``choices[0].message.content``, or an empty string when the shape is wrong."""
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return content.strip() if isinstance(content, str) else ""
