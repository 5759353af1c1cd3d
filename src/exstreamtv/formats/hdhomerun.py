"""HDHomeRun wire formats: DeviceIDs, the HTTP documents, and the UDP discovery frame.

Pure: values in, ``dict``/``str``/``bytes`` out (protocol facts: ``REFERENCE.md``). Errors:
:class:`MalformedPacket` (an :class:`~exstreamtv.errors.InvalidInput`) for network bytes that
are not a valid frame; ValueError for a caller's mistake (invalid own DeviceID, oversize value).
"""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from exstreamtv.errors import InvalidInput

MANUFACTURER = "Silicondust"
MODEL_NUMBER = "HDTC-2US"
FIRMWARE_NAME = "hdhomeruntc_atsc"
FIRMWARE_VERSION = "20200101"
MEDIA_SERVER_TYPE = "urn:schemas-upnp-org:device:MediaServer:1"

TYPE_DISCOVER_REQUEST = 0x0002
TYPE_DISCOVER_REPLY = 0x0003
TAG_DEVICE_TYPE = 0x01
TAG_DEVICE_ID = 0x02
TAG_TUNER_COUNT = 0x10
TAG_LINEUP_URL = 0x27
TAG_BASE_URL = 0x2A
TAG_DEVICE_AUTH = 0x2B
DEVICE_TYPE_TUNER = 0x00000001
WILDCARD = 0xFFFFFFFF

MAX_PACKET_BYTES = 1460  # largest frame accepted or produced (libhdhomerun's packet buffer)
MAX_TLV_VALUE = 0x7FFF  # largest value the two-byte TLV length can express

_CHECK_TABLE = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_RESERVED_IDS = (0x00000000, WILDCARD)
# Characters XML 1.0 forbids even when escaped (C0 controls except tab/LF/CR, surrogates, FFFE/F).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Arbitrary fixed namespace: the UDN must be a pure function of the DeviceID.
_UDN_NAMESPACE = uuid.UUID("6f3a2f5e-8c1d-5b7a-9e42-0d1c2b3a4f50")


class MalformedPacket(InvalidInput):
    """Bytes that are not a valid HDHomeRun frame. ``reason`` is a stable code for logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"malformed HDHomeRun packet: {detail}")
        self.reason = reason


def _checksum(value: int) -> int:
    """XOR of table[nibble] at shifts 28/20/12/4 and the raw nibbles at 24/16/8/0."""
    result = 0
    for shift in (28, 20, 12, 4):
        result ^= _CHECK_TABLE[(value >> shift) & 0xF] ^ ((value >> (shift - 4)) & 0xF)
    return result


def device_id_valid(device_id: str) -> bool:
    """True when ``device_id`` is 8 hex digits (either case) whose checksum is zero.

    ``00000000`` and ``FFFFFFFF`` pass the checksum but are refused: the first means "no
    device" and the second is the discovery wildcard, which would match every request.
    """
    if not isinstance(device_id, str) or _HEX8.fullmatch(device_id) is None:
        return False
    value = int(device_id, 16)
    return value not in _RESERVED_IDS and _checksum(value) == 0


def make_device_id(random32: int) -> str:
    """A valid DeviceID (8 upper-case hex digits) derived deterministically from ``random32``.

    The top 28 bits are kept and the last nibble (a raw, untabled nibble) is set so the
    checksum is zero; a reserved result has its top bit flipped first. Raises ValueError
    when ``random32`` is not in ``[0, 2**32)``.
    """
    if not 0 <= random32 <= 0xFFFFFFFF:
        raise ValueError(f"random32 must be a 32-bit unsigned integer, got {random32}")
    value = random32 & 0xFFFFFFF0
    value |= _checksum(value)
    if value in _RESERVED_IDS:
        value = (value ^ 0x80000000) & 0xFFFFFFF0
        value |= _checksum(value)
    return f"{value:08X}"


def device_udn(device_id: str) -> str:
    """The UPnP ``uuid:...`` UDN for ``device_id``: stable for a DeviceID, case-insensitive."""
    return f"uuid:{uuid.uuid5(_UDN_NAMESPACE, device_id.upper())}"


def lineup_url(base_url: str) -> str:
    """Where ``lineup.json`` lives under ``base_url`` (a trailing slash is tolerated)."""
    return f"{base_url.rstrip('/')}/lineup.json"


def discover_json(
    *,
    device_id: str,
    friendly_name: str,
    tuner_count: int,
    base_url: str,
    device_auth: str,
    lineup_query: str = "",
) -> dict[str, str | int]:
    """The ``/discover.json`` body. ``BaseURL`` is always sent: without it clients assume :80.
    ``lineup_query`` (``?token=...`` when an access token is set) ends ``LineupURL``, which
    would otherwise be refused."""
    base = base_url.rstrip("/")
    return {
        "FriendlyName": friendly_name,
        "Manufacturer": MANUFACTURER,
        "ModelNumber": MODEL_NUMBER,
        "FirmwareName": FIRMWARE_NAME,
        "FirmwareVersion": FIRMWARE_VERSION,
        "DeviceID": device_id,
        "DeviceAuth": device_auth,
        "BaseURL": base,
        "LineupURL": lineup_url(base) + lineup_query,
        "TunerCount": tuner_count,
    }


@dataclass(frozen=True, slots=True)
class LineupEntry:
    """One ``lineup.json`` row. ``url`` should be a plain path URL (Plex mishandles queries)."""

    guide_number: str
    guide_name: str
    url: str
    hd: bool = True


def lineup_json(entries: Sequence[LineupEntry]) -> list[dict[str, str | int]]:
    """The ``/lineup.json`` body, in the given order."""
    return [
        {"GuideNumber": e.guide_number, "GuideName": e.guide_name, "URL": e.url, "HD": int(e.hd)}
        for e in entries
    ]


def lineup_status_json() -> dict[str, str | int | list[str]]:
    """The ``/lineup_status.json`` body: never scanning, scannable, cable source."""
    return {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Cable", "SourceList": ["Cable"]}


def _xml_text(text: str) -> str:
    return escape(_XML_FORBIDDEN.sub("", text))


def device_xml(*, device_id: str, friendly_name: str, base_url: str) -> str:
    """The ``/device.xml`` UPnP root device description (MediaServer:1), UTF-8 text.

    The UDN is :func:`device_udn`; every text value is escaped and stripped of characters
    XML forbids, so a hostile friendly name cannot break the document.
    """
    fields = {
        "deviceType": MEDIA_SERVER_TYPE,
        "friendlyName": friendly_name,
        "manufacturer": MANUFACTURER,
        "modelName": MODEL_NUMBER,
        "modelNumber": MODEL_NUMBER,
        "serialNumber": device_id,
        "UDN": device_udn(device_id),
    }
    device = "".join(f"    <{k}>{_xml_text(v)}</{k}>\n" for k, v in fields.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">\n'
        "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
        f"  <URLBase>{_xml_text(base_url.rstrip('/'))}</URLBase>\n"
        f"  <device>\n{device}  </device>\n"
        "</root>\n"
    )


@dataclass(frozen=True, slots=True)
class Packet:
    """A decoded frame: its type and its TLV fields in wire order (tags may repeat)."""

    type: int
    fields: tuple[tuple[int, bytes], ...] = ()

    @property
    def tags(self) -> dict[int, bytes]:
        """Tag to value; where a tag repeats, the first occurrence wins."""
        return dict(reversed(self.fields))

    def values(self, tag: int) -> tuple[bytes, ...]:
        """Every value carried for ``tag``, in wire order."""
        return tuple(value for t, value in self.fields if t == tag)


def decode_packet(data: bytes) -> Packet:
    """Parse one frame: ``u16 type | u16 length | TLVs | CRC-32 LE`` (big-endian header).

    Raises :class:`MalformedPacket` for a short or oversized frame, a length field that
    disagrees with the frame, a bad CRC, or a TLV that runs past the payload.
    """
    if len(data) < 8:
        raise MalformedPacket("short", f"{len(data)} bytes is shorter than a frame")
    if len(data) > MAX_PACKET_BYTES:
        raise MalformedPacket("too_large", f"{len(data)} bytes exceeds {MAX_PACKET_BYTES}")
    packet_type, length = struct.unpack_from(">HH", data)
    if length != len(data) - 8:
        raise MalformedPacket("length_mismatch", f"length field {length}, payload {len(data) - 8}")
    (crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if crc != zlib.crc32(data[:-4]):
        raise MalformedPacket("bad_crc", "CRC-32 does not match")
    payload = data[4:-4]
    fields: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise MalformedPacket("truncated_tlv", f"TLV header cut short at offset {pos}")
        tag, size = payload[pos], payload[pos + 1]
        pos += 2
        if size & 0x80:
            if pos >= len(payload):
                raise MalformedPacket("truncated_tlv", f"two-byte length cut short at offset {pos}")
            size = (size & 0x7F) | (payload[pos] << 7)
            pos += 1
        if pos + size > len(payload):
            raise MalformedPacket("truncated_tlv", f"tag 0x{tag:02X} wants {size} bytes")
        fields.append((tag, bytes(payload[pos : pos + size])))
        pos += size
    return Packet(packet_type, tuple(fields))


def _tlv(tag: int, value: bytes) -> bytes:
    if not 0 <= tag <= 0xFF:
        raise ValueError(f"tag {tag} does not fit in a byte")
    n = len(value)
    if n > MAX_TLV_VALUE:
        raise ValueError(f"tag 0x{tag:02X} value of {n} bytes exceeds {MAX_TLV_VALUE}")
    size = bytes([n]) if n <= 0x7F else bytes([(n & 0x7F) | 0x80, n >> 7])
    return bytes([tag]) + size + value


def encode_packet(
    packet_type: int, tags: Mapping[int, bytes] | Sequence[tuple[int, bytes]]
) -> bytes:
    """One frame carrying ``tags`` in order (a mapping or ``(tag, value)`` pairs).

    Raises ValueError when the type, a tag or a value does not fit, or the frame would
    exceed :data:`MAX_PACKET_BYTES`.
    """
    if not 0 <= packet_type <= 0xFFFF:
        raise ValueError(f"packet type {packet_type} does not fit in 16 bits")
    pairs = tags.items() if isinstance(tags, Mapping) else tags
    payload = b"".join(_tlv(tag, value) for tag, value in pairs)
    if len(payload) + 8 > MAX_PACKET_BYTES:
        raise ValueError(f"frame of {len(payload) + 8} bytes exceeds {MAX_PACKET_BYTES}")
    frame = struct.pack(">HH", packet_type, len(payload)) + payload
    return frame + struct.pack("<I", zlib.crc32(frame))


def _matches(values: tuple[bytes, ...], accepted: tuple[int, ...]) -> bool:
    """A missing tag is a wildcard; otherwise any 4-byte value in ``accepted`` matches."""
    return not values or any(len(v) == 4 and int.from_bytes(v) in accepted for v in values)


def discover_reply(
    request: Packet,
    *,
    device_id: str,
    tuner_count: int,
    base_url: str,
    lineup_url: str,
    device_auth: str,
) -> bytes | None:
    """The discover reply frame for ``request``, or None when the request is not for us.

    Answered: type 0x0002 whose device-type tags include the wildcard or "tuner" and whose
    device-id tags include the wildcard or our id. Strings go out as UTF-8; libhdhomerun
    drops a device auth over 24 bytes and URLs over 127. Raises ValueError for an invalid
    own ``device_id`` or a ``tuner_count`` outside 0-255.
    """
    if not device_id_valid(device_id) or not 0 <= tuner_count <= 0xFF:
        raise ValueError(f"invalid own device id {device_id!r} or tuner count {tuner_count}")
    own_id = int(device_id, 16)
    if (
        request.type != TYPE_DISCOVER_REQUEST
        or not _matches(request.values(TAG_DEVICE_TYPE), (WILDCARD, DEVICE_TYPE_TUNER))
        or not _matches(request.values(TAG_DEVICE_ID), (WILDCARD, own_id))
    ):
        return None
    return encode_packet(
        TYPE_DISCOVER_REPLY,
        [
            (TAG_DEVICE_TYPE, DEVICE_TYPE_TUNER.to_bytes(4)),
            (TAG_DEVICE_ID, own_id.to_bytes(4)),
            (TAG_TUNER_COUNT, bytes([tuner_count])),
            (TAG_BASE_URL, base_url.rstrip("/").encode()),
            (TAG_LINEUP_URL, lineup_url.encode()),
            (TAG_DEVICE_AUTH, device_auth.encode()),
        ],
    )
