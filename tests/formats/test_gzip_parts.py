"""Gzip joined from separately deflated parts: every gzip reader gets the exact bytes."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exstreamtv.formats import gzip_parts
from exstreamtv.formats.gzip_parts import GzipJoin, deflate_part

PARTS = st.lists(st.binary(max_size=3000) | st.text(max_size=500).map(str.encode), max_size=12)


def joined(parts: list[bytes]) -> bytes:
    join = GzipJoin()
    return join.header + b"".join(join.add(deflate_part(p)) for p in parts) + join.trailer()


@settings(deadline=None)  # compression time follows the machine's load
@given(PARTS)
def test_joined_parts_decompress_to_their_concatenation(parts: list[bytes]) -> None:
    stream = joined(parts)

    assert gzip.decompress(stream) == b"".join(parts)  # checks the CRC and length too
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    assert inflate.decompress(stream) == b"".join(parts)
    assert inflate.eof and not inflate.unused_data  # one gzip member, not several


def test_a_part_joins_in_any_position_and_can_be_reused() -> None:
    parts = {name: deflate_part(name.encode() * 5000) for name in ("head", "a", "b", "tail")}
    for order in (("head", "a", "b", "tail"), ("head", "b", "a", "a", "tail")):
        join = GzipJoin()
        stream = join.header + b"".join(join.add(parts[n]) for n in order) + join.trailer()
        assert gzip.decompress(stream) == b"".join(n.encode() * 5000 for n in order)


def test_parts_larger_than_the_zero_buffer_keep_the_crc_right() -> None:
    big = bytes(range(256)) * 2000  # 512 KB: several passes over the zeros
    parts = [b"<", big, big[:70_001], b">"]
    assert gzip.decompress(joined(parts)) == b"".join(parts)


def test_a_corrupted_part_is_caught_by_the_crc() -> None:
    stream = bytearray(joined([b"x" * 100, b"y" * 100]))
    stream[-5] ^= 0xFF  # the last byte of the CRC-32

    with pytest.raises(zlib.error, match="incorrect data check"):
        zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(bytes(stream))


@pytest.mark.parametrize("zlib_combine", [True, False], ids=["libz", "zeros"])
@settings(deadline=None)
@given(first=st.binary(max_size=5000), second=st.binary(max_size=200_000))
def test_both_ways_of_combining_crcs_give_the_crc_of_the_concatenation(
    zlib_combine: bool, first: bytes, second: bytes
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if not zlib_combine:  # as where libz's crc32_combine cannot be reached
            patch.setattr(gzip_parts, "_zlib_combine", lambda: None)
        combined = gzip_parts.crc_combine(zlib.crc32(first), zlib.crc32(second), len(second))
    assert combined == zlib.crc32(first + second)
