"""``exstreamtv troubleshoot "question"``: ask a running server (``POST /api/troubleshoot``).

A client of the HTTP API, not of the database: the answer comes from the server's own logs
and state. The admin key is needed only when the server listens beyond loopback.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from exstreamtv.cli.server_api import post, refusal


def ask(url: str, question: str, key: str | None, console: Console) -> bool:
    """Print the server's answer to ``question``; False when the server refused it.

    Raises :class:`~exstreamtv.errors.ServerUnreachable` when nothing answers at ``url``.
    """
    response = post(url, "/api/troubleshoot", {"question": question}, key)
    if response.status_code != 200:
        console.print(f"error: {refusal(response)}")
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
