"""``exstreamtv troubleshoot "question"``: ask a running server (``POST /api/troubleshoot``).

A client of the HTTP API, not of the database: the answer comes from the server's own logs
and state. The admin key is needed only when the server listens beyond loopback.
"""

from __future__ import annotations

import httpx
from rich.console import Console
from rich.markup import escape

from exstreamtv.errors import ServerUnreachable

TIMEOUT_SEC = 60.0
MAX_ERROR_CHARS = 300


def ask(url: str, question: str, key: str | None, console: Console) -> bool:
    """Print the server's answer to ``question``; False when the server refused it.

    Raises :class:`ServerUnreachable` when nothing answers at ``url``.
    """
    endpoint = f"{url.rstrip('/')}/api/troubleshoot"
    headers = {"X-API-Key": key} if key else {}
    try:
        response = httpx.post(
            endpoint, json={"question": question}, headers=headers, timeout=TIMEOUT_SEC
        )
    except httpx.HTTPError as err:
        raise ServerUnreachable(
            f"cannot reach EXStreamTV at {url} ({type(err).__name__}): is the server running?"
            " Start it with `exstreamtv serve`, or pass --url."
        ) from None
    if response.status_code != 200:
        console.print(f"error: the server answered {response.status_code}: {_detail(response)}")
        return False
    body = response.json()
    console.print(escape(str(body.get("answer", ""))), highlight=False)
    evidence = [str(line) for line in body.get("evidence", [])]
    if evidence:
        console.print("\n[bold]Evidence[/bold]")
        for line in evidence:
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    run, resolution = body.get("resolution_run_id"), body.get("resolution")
    if resolution == "started":
        console.print(f"\nMetadata self-resolution run {run} started.", highlight=False)
    elif resolution == "joined":
        console.print(
            f"\nMetadata self-resolution run {run} was already under way.", highlight=False
        )
    return True


def _detail(response: httpx.Response) -> str:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text
    return escape(detail[:MAX_ERROR_CHARS])
