"""The M3U playlist (extended ``#EXTINF`` form with ``tvg-*`` attributes).

Pure: channels in, text out. Each channel's ``tvg-id`` is its XMLTV channel id, which is
what lets clients match the playlist to the guide.

Values come from users (channel names, groups), so they are made safe for a format that
has no escaping at all. Every attribute value, the display name and the URLs get the same
substitution:

- ``"`` becomes ``'`` (a double quote would end the attribute early);
- line breaks and tabs (CR, LF, VT, FF, NEL, U+2028, U+2029) become a space;
- other control characters, lone surrogates and U+FFFE/U+FFFF are removed;
- runs of whitespace collapse to one space, ends are trimmed; the result is NFC.

Commas are kept: the display name follows the last attribute, where a comma is harmless.
Lines end with ``\\n``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from exstreamtv.domain.guide import GuideChannel

_BREAKS = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029]")
_REMOVED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _safe(value: str) -> str:
    """``value`` with the substitution above applied (safe inside ``"…"`` and on one line)."""
    value = _REMOVED.sub("", _BREAKS.sub(" ", value.replace('"', "'")))
    return unicodedata.normalize("NFC", " ".join(value.split()))


def render_m3u(channels: Sequence[GuideChannel], *, guide_url: str, catchup_days: int = 0) -> str:
    """The playlist for ``channels`` in the order given; ``guide_url`` is the XMLTV URL,
    sent both as ``url-tvg`` and ``x-tvg-url`` (clients read one or the other).

    A channel with a ``catchup_url`` (and ``catchup_days`` > 0) gets the attributes IPTV
    apps read for catch-up: ``catchup="default"`` (the source is a whole URL template),
    ``catchup-days`` and ``catchup-source`` (``docs/clients.md`` lists which app reads
    what)."""
    guide = _safe(guide_url)
    lines = [f'#EXTM3U url-tvg="{guide}" x-tvg-url="{guide}"']
    for channel in channels:
        lines.append(_extinf(channel, catchup_days))
        lines.append(_safe(channel.stream_url))
    lines.append("")
    return "\n".join(lines)


def _extinf(channel: GuideChannel, catchup_days: int) -> str:
    name = _safe(channel.name)
    attributes = [
        ("tvg-id", channel.id),
        ("tvg-chno", channel.number),
        ("tvg-name", name),
        ("tvg-logo", channel.logo_url),
        ("group-title", channel.group or ""),
    ]
    if channel.catchup_url and catchup_days > 0:
        attributes += [
            ("catchup", "default"),
            ("catchup-days", str(catchup_days)),
            ("catchup-source", channel.catchup_url),
        ]
    text = " ".join(
        f'{key}="{_safe(value)}"' for key, value in attributes if value or key == "tvg-name"
    )
    return f"#EXTINF:-1 {text},{name}"
