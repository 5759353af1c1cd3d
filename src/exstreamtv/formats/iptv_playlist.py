"""Reading an IPTV playlist (extended M3U) into live channels, refusing hostile entries one
by one with the reason.

Pure: text in, values out. The format (as IPTV apps read it; see the M3U notes in the docs):
an ``#EXTM3U`` header, optionally with ``url-tvg``/``x-tvg-url`` (the XMLTV guide), then per
channel ``#EXTINF:<duration> <key="value" attributes>,<name>`` followed by its URL on the next
line that is not a comment (``#EXTVLCOPT``, ``#EXTGRP`` and other ``#`` lines may sit
between). A bare URL line is a channel named after its URL.

Refused, each with its line number and reason: a stream that is not ``http(s)`` (``file:``,
``concat:``, ``pipe:``... would make FFmpeg read something else), a URL with spaces or
control characters or over 2048 characters, a name or attribute with control characters
(line breaks smuggled into a name would inject lines into our own M3U and guide), a name
over 200 characters, an ``#EXTINF`` without a URL, a stream listed twice, entries past
``max_channels``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from exstreamtv.domain.locations import check_online_url, stable_id
from exstreamtv.errors import InvalidInput

MAX_NAME_CHARS = 200
MAX_ATTRIBUTE_CHARS = 2048
MAX_CHANNELS = 20_000
_ATTRIBUTE = re.compile(r'([A-Za-z0-9_-]+)=(?:"([^"]*)"|([^\s"]+))')
_LINES = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class PlaylistChannel:
    """A live channel of the playlist. ``channel_id`` is stable across reads: its
    ``tvg-id`` when it has a unique one, else made from its URL."""

    line: int
    channel_id: str
    name: str
    url: str
    tvg_id: str | None = None
    logo: str | None = None
    group: str | None = None
    number: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Playlist:
    channels: tuple[PlaylistChannel, ...]
    refusals: tuple[Refusal, ...]
    guide_urls: tuple[str, ...]


@dataclass(slots=True)
class _Pending:
    line: int
    name: str
    attributes: dict[str, str]


def parse_playlist(text: str, *, max_channels: int = MAX_CHANNELS) -> Playlist:
    """The channels of an extended M3U and the entries refused. Raises InvalidInput when
    ``text`` is not an M3U playlist at all (no ``#EXTM3U`` header)."""
    # Only CR and LF end a line: str.splitlines would also split at U+2028, U+0085 or
    # U+001C, letting a name smuggle a second entry in.
    lines = _LINES.split(text.lstrip("\ufeff"))
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].strip().startswith("#EXTM3U"):
        raise InvalidInput("this is not an M3U playlist (it does not start with #EXTM3U)")
    header = _attributes(lines[first])
    guides = [u for key in ("url-tvg", "x-tvg-url") for u in header.get(key, "").split(",")]
    reader = _Reader(max_channels)
    for number, raw in enumerate(lines[first + 1 :], start=first + 2):
        reader.feed(number, raw.strip())
    reader.finish()
    return Playlist(tuple(reader.unique()), tuple(reader.refusals), _checked_urls(guides))


class _Reader:
    def __init__(self, max_channels: int) -> None:
        self.max_channels = max_channels
        self.found: list[PlaylistChannel] = []
        self.refusals: list[Refusal] = []
        self.pending: _Pending | None = None
        self.urls: dict[str, int] = {}

    def feed(self, number: int, line: str) -> None:
        if not line:
            return
        if line.startswith("#EXTINF"):
            self._unfinished()
            self.pending = self._extinf(number, line)
            return
        if line.startswith("#"):
            return  # #EXTVLCOPT, #EXTGRP, comments: nothing we relay
        pending, self.pending = self.pending, None
        if pending is None:
            pending = _Pending(number, _name_of(line), {})
        self._channel(number, pending, line)

    def finish(self) -> None:
        self._unfinished()

    def _unfinished(self) -> None:
        if self.pending is not None:
            self.refusals.append(Refusal(self.pending.line, "no stream URL follows this entry"))
            self.pending = None

    @staticmethod
    def _extinf(number: int, line: str) -> _Pending:
        """The attributes and the name (after the first comma outside quotes)."""
        quoted, cut = False, len(line)
        for index, char in enumerate(line):
            if char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                cut = index
                break
        return _Pending(number, line[cut + 1 :].strip(), _attributes(line[:cut]))

    def _channel(self, number: int, pending: _Pending, url: str) -> None:
        reason = _refusal(pending, url)
        if reason is None and url in self.urls:
            reason = f"the same stream as line {self.urls[url]}"
        if reason is None and len(self.found) >= self.max_channels:
            reason = f"more than {self.max_channels} channels; the rest are left out"
        if reason is not None:
            self.refusals.append(Refusal(pending.line, reason))
            return
        self.urls[url] = pending.line
        attrs = pending.attributes
        self.found.append(
            PlaylistChannel(
                line=pending.line,
                channel_id=stable_id(url),
                name=unicodedata.normalize("NFC", pending.name) or _name_of(url),
                url=url,
                tvg_id=attrs.get("tvg-id") or None,
                logo=_logo(attrs.get("tvg-logo")),
                group=attrs.get("group-title") or None,
                number=attrs.get("tvg-chno") or None,
            )
        )

    def unique(self) -> list[PlaylistChannel]:
        """Channels with their ``tvg-id`` as id where that id is unique."""
        counts: dict[str, int] = {}
        for channel in self.found:
            if channel.tvg_id:
                counts[channel.tvg_id] = counts.get(channel.tvg_id, 0) + 1
        return [
            _with_id(c, f"tvg:{c.tvg_id}")
            if c.tvg_id and counts[c.tvg_id] == 1 and len(c.tvg_id) <= 90
            else c
            for c in self.found
        ]


def _with_id(channel: PlaylistChannel, channel_id: str) -> PlaylistChannel:
    return PlaylistChannel(
        channel.line, channel_id, channel.name, channel.url, channel.tvg_id, channel.logo,
        channel.group, channel.number,
    )  # fmt: skip


def _refusal(pending: _Pending, url: str) -> str | None:
    if _CONTROL.search(pending.name):
        return "the name holds control or direction-override characters"
    if len(pending.name) > MAX_NAME_CHARS:
        return f"the name is longer than {MAX_NAME_CHARS} characters"
    for key, value in pending.attributes.items():
        if _CONTROL.search(value) or len(value) > MAX_ATTRIBUTE_CHARS:
            return f"the {key} attribute holds control characters or is too long"
    try:
        check_online_url(url)
    except InvalidInput as err:
        return err.message
    return None


def _attributes(line: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _ATTRIBUTE.finditer(line)}


def _name_of(url: str) -> str:
    """A name for a bare URL: the last part of its path, else its host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "Live channel"
    last = unquote(parts.path.rstrip("/").rpartition("/")[2])
    name = _CONTROL.sub("", last or parts.hostname or "Live channel")
    return name[:MAX_NAME_CHARS]


def _logo(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return check_online_url(value)
    except InvalidInput:
        return None


def _checked_urls(urls: list[str]) -> tuple[str, ...]:
    found = []
    for url in urls:
        try:
            found.append(check_online_url(url))
        except InvalidInput:
            continue
    return tuple(dict.fromkeys(found))
