"""A fake OpenAI-compatible server: a tiny ASGI app on a real uvicorn server on loopback.

It answers ``POST /v1/chat/completions`` with the next scripted content (or status) and
keeps every request it received, headers and raw body, for the test to inspect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send


@dataclass
class FakeLLM:
    answers: list[str | int] = field(default_factory=list)  # content, or an HTTP status
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    url: str = ""

    def messages(self, n: int = -1) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.bodies[n])["messages"]
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.paths.append(scope["path"])
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        answer = (
            self.answers.pop(0)
            if self.answers
            else json.dumps({"action": "STOP", "reason": "nothing", "confidence": 0.5})
        )
        if isinstance(answer, int):
            status, payload = answer, b'{"error": "scripted"}'
        else:
            status = 200
            payload = json.dumps(
                {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]}
            ).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": payload})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


@contextlib.asynccontextmanager
async def serving_llm() -> AsyncIterator[FakeLLM]:
    """The fake on a loopback port picked by the OS (bound before serving starts)."""
    fake = FakeLLM()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = uvicorn.Config(fake, lifespan="off", log_config=None, access_log=False, ws="none")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield fake
    finally:
        server.should_exit = True
        await task
