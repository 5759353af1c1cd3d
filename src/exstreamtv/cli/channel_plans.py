"""``exstreamtv channel plan "sentence"``: plan a channel on a running server
(``POST /api/channel-plans``), show the preview, and create it only when confirmed
(``--yes``, or answering yes at the prompt).

A client of the HTTP API, like ``troubleshoot``: the admin key is needed only when the
server listens beyond loopback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from exstreamtv.cli.server_api import post, refusal

PATH = "/api/channel-plans"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PREVIEW_LINES = 8
Confirm = Callable[[str], bool]


def local_zone() -> str:
    """This machine's IANA time zone (``TZ``, else the ``/etc/localtime`` link), or UTC."""
    given = os.environ.get("TZ", "").lstrip(":")
    if "/" in given and not given.startswith("/"):
        return given
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return "UTC"
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "UTC"


def plan_channel(
    url: str,
    sentence: str,
    key: str | None,
    console: Console,
    *,
    timezone: str,
    name: str | None = None,
    number: str | None = None,
    confirm: Confirm | None = None,
) -> bool:
    """Show the plan for ``sentence``; create the channel when ``confirm`` (asked with a
    question) says yes. False when the server refused the plan or the creation.

    Raises :class:`~exstreamtv.errors.ServerUnreachable` when nothing answers at ``url``."""
    planned = post(url, PATH, {"sentence": sentence, "timezone": timezone}, key)
    if planned.status_code != 201:
        console.print(f"error: {refusal(planned)}")
        return False
    plan = planned.json()
    show(plan, console)
    if confirm is None or not confirm(f"Create channel {plan['number']} ({plan['name']})?"):
        console.print("Nothing was saved. Run again with --yes to create it.", highlight=False)
        return True
    body: dict[str, Any] = {"confirm": True}
    body.update({k: v for k, v in (("name", name), ("number", number)) if v})
    applied = post(url, f"{PATH}/{plan['id']}/apply", body, key)
    if applied.status_code != 201:
        console.print(f"error: {refusal(applied)}")
        return False
    channel = applied.json()
    console.print(
        f"Created channel {escape(str(channel['number']))}: {escape(str(channel['name']))}",
        highlight=False,
    )
    return True


def show(plan: dict[str, Any], console: Console) -> None:
    """Print a plan: its channel, collections, weekly slots, filler and first programmes."""
    out = console.print
    out(f"[bold]{escape(plan['name'])}[/bold] on channel {escape(plan['number'])} "
        f"({escape(plan['timezone'])}, read by the {plan['mode']})", highlight=False)  # fmt: skip
    out("\n[bold]Collections[/bold]")
    for item in plan["collections"]:
        out(f"  {escape(item['label'])}: {item['items']} item(s)", highlight=False)
    out("\n[bold]Every week[/bold]")
    for slot in plan["slots"]:
        days = ",".join(DAYS[d] for d in slot["weekdays"]) or "every day"
        out(f"  {slot['start']} {days}: {escape(slot['title'])}", highlight=False)
    filler = plan["filler"]
    out(f"\nFiller: {escape(filler['label']) if filler else 'none (offline slate)'}")
    entries = plan["preview"]["entries"][:PREVIEW_LINES]
    if entries:
        out("\n[bold]Coming up[/bold]")
    zone = ZoneInfo(plan["timezone"])
    for entry in entries:
        title = entry.get("title") or entry.get("guide_title") or entry.get("kind", "")
        at = datetime.fromisoformat(entry["start"]).astimezone(zone)
        out(f"  {at:%a %H:%M}  {escape(str(title))}", highlight=False)
    for note in plan["notes"]:
        out(f"\nNote: {escape(note)}", highlight=False)
