"""One gzip stream (RFC 1952) joined from parts that were each deflated on their own.

Each :class:`DeflatedPart` is raw deflate (RFC 1951) started afresh and ended with a sync
flush: it never refers back to bytes of another part and ends on a byte boundary without a
final block, so parts can be concatenated in any order and cached separately. A
:class:`GzipJoin` puts the gzip header in front, and after the last part a final empty
block and the trailer: the CRC-32 of all the uncompressed bytes (combined from each part's
own CRC without the bytes themselves, see :func:`crc_combine`) and their length.

Pure: bytes in, bytes out.
"""

from __future__ import annotations

import ctypes
import functools
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
"""Deflate, no flags, no modification time, no extra flags, unknown OS."""
FINAL_BLOCK = b"\x03\x00"
"""An empty fixed-Huffman block with BFINAL set: what ends the deflate stream."""
LEVEL = 1  # XMLTV compresses ~20:1 even so, at a third of level 6's CPU time
_ZEROS = bytes(64 * 1024)


@dataclass(frozen=True, slots=True)
class DeflatedPart:
    """``data``: raw deflate of ``size`` uncompressed bytes whose CRC-32 is ``crc``."""

    data: bytes
    size: int
    crc: int


def deflate_part(text: bytes) -> DeflatedPart:
    """``text`` deflated as a part that joins any other (see the module docstring)."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return DeflatedPart(data, len(text), zlib.crc32(text))


class GzipJoin:
    """Joins parts into one gzip stream: ``header``, then each :meth:`add`, then
    :meth:`trailer`."""

    __slots__ = ("_crc", "_size")

    header = GZIP_HEADER

    def __init__(self) -> None:
        self._crc = 0
        self._size = 0

    def add(self, part: DeflatedPart) -> bytes:
        """The bytes of ``part`` in the stream (its CRC and size are counted)."""
        self._crc = crc_combine(self._crc, part.crc, part.size)
        self._size += part.size
        return part.data

    def trailer(self) -> bytes:
        """The final block, the CRC-32 and the length (mod 2^32) of everything added."""
        return FINAL_BLOCK + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)


def crc_combine(first: int, second: int, second_size: int) -> int:
    """CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)``.

    zlib's ``crc32_combine`` (logarithmic in ``len(B)``), from the very libz Python's
    ``zlib`` module uses; the standard library does not expose it. Where it cannot be
    reached, the same value comes from running zeros (see :func:`_over_zeros`).
    """
    combine = _zlib_combine()
    if combine is None:
        return _over_zeros(first, second_size) ^ _over_zeros(0, second_size) ^ second
    return combine(first, second, second_size)


@functools.cache
def _zlib_combine() -> Callable[[int, int, int], int] | None:
    # dlsym on the zlib extension module searches the libraries it links: its libz.
    try:
        combine = ctypes.CDLL(zlib.__file__).crc32_combine
    except (OSError, AttributeError):
        return None
    combine.restype = ctypes.c_ulong
    combine.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long]
    return cast("Callable[[int, int, int], int]", combine)


def _over_zeros(crc: int, count: int) -> int:
    """``crc`` continued over ``count`` zero bytes.

    CRC-32 is affine in its starting value, so ``crc32(A + B) == over_zeros(crc32(A),
    len(B)) ^ over_zeros(0, len(B)) ^ crc32(B)``: running zeros from ``crc32(A)`` and
    from 0 differs exactly by how ``A`` shifts through ``len(B)`` more bytes. One CRC pass
    over the zeros (gigabytes per second, without the GIL).
    """
    while count > 0:
        step = min(count, len(_ZEROS))
        crc = zlib.crc32(memoryview(_ZEROS)[:step], crc)
        count -= step
    return crc
