"""Reading listings out of a source's XMLTV guide (an IPTV provider's), for live channels.

Pure: bytes in, listings out. The document is parsed incrementally with DTDs, entities and
external references refused (no billion laughs, no file reads); gzip (``.xml.gz``, what many
providers serve) is unpacked up to ``max_bytes``. Only ``<programme>`` elements of the
wanted channels that overlap the window are kept; one without a parseable ``start``/``stop``
(``YYYYMMDDhhmmss +zzzz``, the offset optional and then UTC) or a title is skipped.
Titles and descriptions are cut to sane lengths, and control characters are dropped.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from exstreamtv.domain.listings import Listing
from exstreamtv.domain.playout import to_ms
from exstreamtv.errors import InvalidInput

MAX_TITLE = 300
MAX_TEXT = 4_000
MAX_PER_CHANNEL = 5_000
_TIME = re.compile(r"^(\d{14})(?:\s*([+-])(\d{2})(\d{2}))?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_listings(
    body: bytes, channels: Iterable[str], window: tuple[int, int], *, max_bytes: int
) -> dict[str, list[Listing]]:
    """The listings of ``channels`` (XMLTV channel ids) overlapping ``window`` (UTC ms),
    by channel, ordered by start, overlaps dropped. Raises InvalidInput for a document
    that is not XMLTV, declares a DTD or entities, or unpacks beyond ``max_bytes``."""
    wanted = set(channels)
    found: dict[str, list[Listing]] = {channel: [] for channel in wanted}
    try:
        for _, element in iterparse(
            io.BytesIO(_unpacked(body, max_bytes)),
            forbid_dtd=True, forbid_entities=True, forbid_external=True,
        ):  # fmt: skip
            if element.tag == "programme":
                channel = element.get("channel") or ""
                if channel in wanted and len(found[channel]) < MAX_PER_CHANNEL:
                    listing = _listing(element, window)
                    if listing is not None:
                        found[channel].append(listing)
                element.clear()
    except DefusedXmlException as err:
        raise InvalidInput("the guide declares a DTD or entities; refused") from err
    except ParseError as err:
        raise InvalidInput(f"the guide is not valid XML: {err}") from err
    return {channel: _ordered(listings) for channel, listings in found.items() if listings}


def _unpacked(body: bytes, max_bytes: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflate.decompress(body, max_bytes + 1)
    except zlib.error as err:
        raise InvalidInput(f"the guide is not valid gzip: {err}") from err
    if len(data) > max_bytes or inflate.unconsumed_tail:
        raise InvalidInput(f"the guide unpacks to more than {max_bytes} bytes; refused")
    return data


def _listing(element: Element, window: tuple[int, int]) -> Listing | None:
    start, stop = _time(element.get("start")), _time(element.get("stop"))
    title = _text(element.find("title"), MAX_TITLE)
    if start is None or stop is None or stop <= start or not title:
        return None
    if stop <= window[0] or start >= window[1]:
        return None
    return Listing(
        start_ms=start,
        stop_ms=stop,
        title=title,
        sub_title=_text(element.find("sub-title"), MAX_TITLE),
        description=_text(element.find("desc"), MAX_TEXT),
        categories=tuple(c for e in element.findall("category")[:5] if (c := _text(e, MAX_TITLE))),
    )


def _time(value: str | None) -> int | None:
    """``YYYYMMDDhhmmss [+-]hhmm`` as UTC ms; ``None`` when it is not that."""
    match = _TIME.match((value or "").strip())
    if match is None:
        return None
    stamp, sign, hours, minutes = match.groups()
    zone = UTC
    if sign:
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        zone = timezone(-offset if sign == "-" else offset)
    try:
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        return None
    return to_ms(moment)


def _text(element: Element | None, limit: int) -> str | None:
    if element is None or not element.text:
        return None
    return _CONTROL.sub("", element.text).strip()[:limit] or None


def _ordered(listings: list[Listing]) -> list[Listing]:
    """By start; a listing that overlaps the one kept before it is dropped."""
    kept: list[Listing] = []
    for listing in sorted(listings, key=lambda item: item.start_ms):  # stable: first listed wins
        if not kept or listing.start_ms >= kept[-1].stop_ms:
            kept.append(listing)
    return kept
