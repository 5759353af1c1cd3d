"""Behaviour of the HDHomeRun formats: DeviceIDs, HTTP documents and the UDP frame codec."""

from __future__ import annotations

import struct
import zlib

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.errors import InvalidInput
from exstreamtv.formats.hdhomerun import (
    MAX_PACKET_BYTES,
    LineupEntry,
    MalformedPacket,
    Packet,
    decode_packet,
    device_id_valid,
    device_udn,
    device_xml,
    discover_json,
    discover_reply,
    encode_packet,
    lineup_json,
    lineup_status_json,
    make_device_id,
)

OUR_ID = "12345674"
UPNP = "{urn:schemas-upnp-org:device-1-0}"
# What `hdhomerun_config discover 127.0.0.1` (libhdhomerun 20220303) sends, captured here.
REAL_CLIENT_REQUEST = bytes.fromhex("0002000c0104ffffffff0204ffffffff73cc7d8f")


def frame(packet_type: int, payload: bytes) -> bytes:
    head = struct.pack(">HH", packet_type, len(payload)) + payload
    return head + struct.pack("<I", zlib.crc32(head))


def reply_for(request: Packet, device_id: str = OUR_ID) -> bytes | None:
    return discover_reply(
        request,
        device_id=device_id,
        tuner_count=4,
        base_url="http://127.0.0.1:8411/",
        lineup_url="http://127.0.0.1:8411/lineup.json",
        device_auth="auth-token",
    )


def discover_request(device_type: int | None, device_id: int | None) -> Packet:
    fields = []
    if device_type is not None:
        fields.append((0x01, device_type.to_bytes(4)))
    if device_id is not None:
        fields.append((0x02, device_id.to_bytes(4)))
    return decode_packet(encode_packet(0x0002, fields))


@pytest.mark.parametrize("device_id", ["12345674", "ABCDEF01", "10101010"])
def test_ids_with_a_zero_checksum_are_valid(device_id: str) -> None:
    assert device_id_valid(device_id)
    assert device_id_valid(device_id.lower())


@pytest.mark.parametrize(
    "device_id",
    ["12345675", "1234567", "123456740", "1234567G", "0x123456", "1234_674", " 2345674", ""],
)
def test_wrong_checksums_and_shapes_are_invalid(device_id: str) -> None:
    assert not device_id_valid(device_id)


def test_reserved_ids_are_invalid_although_their_checksum_is_zero() -> None:
    # 00000000 means "no device"; FFFFFFFF is the discovery wildcard.
    assert not device_id_valid("00000000")
    assert not device_id_valid("FFFFFFFF")


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_make_device_id_always_returns_a_valid_id_deterministically(random32: int) -> None:
    made = make_device_id(random32)
    assert device_id_valid(made)
    assert made == made.upper()
    assert make_device_id(random32) == made
    if made[:7] == f"{random32:08X}"[:7]:
        return
    assert random32 >> 4 in (0, 0xFFFFFFF)  # only the reserved ids move their top bits


def test_make_device_id_keeps_the_top_28_bits_and_avoids_reserved_ids() -> None:
    assert make_device_id(0x12345670) == "12345674"
    assert make_device_id(0x1234567F) == "12345674"
    assert make_device_id(0) not in ("00000000", "FFFFFFFF")
    assert make_device_id(0xFFFFFFFF) not in ("00000000", "FFFFFFFF")


@pytest.mark.parametrize("bad", [-1, 1 << 32])
def test_make_device_id_refuses_numbers_outside_32_bits(bad: int) -> None:
    with pytest.raises(ValueError, match="32-bit"):
        make_device_id(bad)


def test_discover_json_carries_what_clients_need_and_always_a_base_url() -> None:
    body = discover_json(
        device_id=OUR_ID,
        friendly_name="Den",
        tuner_count=2,
        base_url="http://10.0.0.5:8411/",
        device_auth="abc",
    )
    assert body["BaseURL"] == "http://10.0.0.5:8411"
    assert body["LineupURL"] == "http://10.0.0.5:8411/lineup.json"
    assert (body["DeviceID"], body["TunerCount"], body["FriendlyName"]) == (OUR_ID, 2, "Den")
    assert (body["ModelNumber"], body["FirmwareName"]) == ("HDTC-2US", "hdhomeruntc_atsc")


def test_lineup_json_keeps_order_and_renders_hd_as_an_integer() -> None:
    entries = [
        LineupEntry("5.1", "News", "http://h/auto/v5.1"),
        LineupEntry("2", "Old", "http://h/auto/v2", hd=False),
    ]
    assert lineup_json(entries) == [
        {"GuideNumber": "5.1", "GuideName": "News", "URL": "http://h/auto/v5.1", "HD": 1},
        {"GuideNumber": "2", "GuideName": "Old", "URL": "http://h/auto/v2", "HD": 0},
    ]
    assert lineup_status_json()["ScanInProgress"] == 0


def test_device_xml_is_a_media_server_with_a_stable_udn_and_escaped_text() -> None:
    hostile = "Tom & Jerry's <TV> ]]> \x01\x0b 📺 עברית"
    root = SafeET.fromstring(
        device_xml(device_id=OUR_ID, friendly_name=hostile, base_url="http://h:1/")
    )
    device = root.find(f"{UPNP}device")
    assert device is not None
    text = {child.tag.removeprefix(UPNP): child.text for child in device}
    assert text["deviceType"] == "urn:schemas-upnp-org:device:MediaServer:1"
    assert text["friendlyName"] == "Tom & Jerry's <TV> ]]>  📺 עברית"
    assert text["serialNumber"] == OUR_ID
    assert text["UDN"] == device_udn(OUR_ID) == device_udn(OUR_ID.lower())
    assert text["UDN"] != device_udn("ABCDEF01")
    assert root.findtext(f"{UPNP}URLBase") == "http://h:1"


tlv_values = st.binary(max_size=300)
tag_lists = st.lists(st.tuples(st.integers(0, 255), tlv_values), max_size=4)


@given(st.integers(0, 0xFFFF), tag_lists)
def test_frames_round_trip_in_order_including_two_byte_lengths(
    packet_type: int, fields: list[tuple[int, bytes]]
) -> None:
    packet = decode_packet(encode_packet(packet_type, fields))
    assert packet == Packet(packet_type, tuple(fields))


def test_two_byte_lengths_follow_the_wire_layout() -> None:
    encoded = encode_packet(0x0003, {0x2A: b"x" * 200})
    # 200 = 0b1_1001000: low seven bits with the high bit set, then 200 >> 7.
    assert encoded[4:7] == bytes([0x2A, (200 & 0x7F) | 0x80, 1])
    assert decode_packet(encoded).tags == {0x2A: b"x" * 200}
    assert encode_packet(0x0003, {0x2A: b"x" * 127})[5] == 127


def test_repeated_tags_keep_every_value_and_the_first_wins_in_tags() -> None:
    packet = decode_packet(encode_packet(2, [(1, b"a"), (2, b"b"), (1, b"c")]))
    assert packet.values(1) == (b"a", b"c")
    assert packet.tags == {1: b"a", 2: b"b"}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "short"),
        (b"\x00\x02\x00\x00\x00\x00\x00", "short"),
        (frame(2, b"\x01\x01a")[:-1], "length_mismatch"),
        (frame(2, b"\x01\x01a") + b"\x00", "length_mismatch"),
        (frame(2, b"\x01\x01a")[:-1] + b"\x00", "bad_crc"),
        (frame(2, b"\x01\x05ab"), "truncated_tlv"),
        (frame(2, b"\x01"), "truncated_tlv"),
        (frame(2, b"\x01\x80"), "truncated_tlv"),
        (frame(2, b"\x01\xff\xff" + b"a" * 100), "truncated_tlv"),
        (frame(2, b"\x01\x01" + b"a" * MAX_PACKET_BYTES), "too_large"),
    ],
)
def test_malformed_frames_raise_malformed_packet_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket) as caught:
        decode_packet(data)
    assert caught.value.reason == reason
    assert isinstance(caught.value, InvalidInput)


@given(st.binary(max_size=2 * MAX_PACKET_BYTES))
def test_arbitrary_bytes_decode_or_raise_only_malformed_packet(data: bytes) -> None:
    assert decodes_or_is_refused(data)


@given(st.integers(0, 0xFFFF), tag_lists, st.integers(4, 2 * MAX_PACKET_BYTES), st.binary())
def test_damaged_valid_frames_decode_or_raise_only_malformed_packet(
    packet_type: int, fields: list[tuple[int, bytes]], cut: int, noise: bytes
) -> None:
    encoded = encode_packet(packet_type, fields)
    for data in (encoded[:cut], encoded[:cut] + noise, noise + encoded):
        assert decodes_or_is_refused(data)


def decodes_or_is_refused(data: bytes) -> bool:
    """True when ``data`` decodes to a packet or is refused with a reason; anything else
    (another exception) propagates and fails the test."""
    try:
        packet = decode_packet(data)
    except MalformedPacket as err:
        return bool(err.reason)
    return 0 <= packet.type <= 0xFFFF


def test_encode_refuses_what_the_frame_cannot_carry() -> None:
    with pytest.raises(ValueError, match="16 bits"):
        encode_packet(0x10000, {})
    with pytest.raises(ValueError, match="byte"):
        encode_packet(2, {256: b""})
    with pytest.raises(ValueError, match="exceeds"):
        encode_packet(2, {1: b"a" * MAX_PACKET_BYTES})


def test_the_real_clients_wildcard_request_gets_our_reply() -> None:
    reply = reply_for(decode_packet(REAL_CLIENT_REQUEST))
    assert reply is not None
    packet = decode_packet(reply)
    assert packet.type == 0x0003
    assert packet.fields == (
        (0x01, bytes.fromhex("00000001")),
        (0x02, bytes.fromhex(OUR_ID)),
        (0x10, b"\x04"),
        (0x2A, b"http://127.0.0.1:8411"),
        (0x27, b"http://127.0.0.1:8411/lineup.json"),
        (0x2B, b"auth-token"),
    )


@pytest.mark.parametrize(
    ("device_type", "device_id"),
    [
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x00000001, 0xFFFFFFFF),
        (0xFFFFFFFF, 0x12345674),
        (0x00000001, 0x12345674),
        (None, None),
        (None, 0x12345674),
        (0x00000001, None),
    ],
)
def test_wildcards_tuners_our_id_and_missing_tags_are_answered(
    device_type: int | None, device_id: int | None
) -> None:
    assert reply_for(discover_request(device_type, device_id)) is not None


@pytest.mark.parametrize(
    ("device_type", "device_id"),
    [(0xFFFFFFFF, 0xABCDEF01), (0x00000005, 0xFFFFFFFF), (0x00000001, 0x00000000)],
)
def test_requests_for_another_device_or_type_get_no_reply(device_type: int, device_id: int) -> None:
    assert reply_for(discover_request(device_type, device_id)) is None


def test_non_discover_packets_and_odd_tag_sizes_get_no_reply() -> None:
    assert reply_for(decode_packet(encode_packet(0x0004, {}))) is None
    assert reply_for(decode_packet(encode_packet(0x0002, {0x01: b"\x01"}))) is None


def test_a_request_listing_several_device_types_is_answered_if_one_is_a_tuner() -> None:
    request = Packet(2, ((0x01, (5).to_bytes(4)), (0x01, (1).to_bytes(4))))
    assert reply_for(request) is not None


def test_discover_reply_refuses_an_invalid_own_id() -> None:
    with pytest.raises(ValueError, match="device id"):
        reply_for(decode_packet(REAL_CLIENT_REQUEST), device_id="12345675")
