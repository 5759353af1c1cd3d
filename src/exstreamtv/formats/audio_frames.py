"""How many audio frames a PES carries, read from the frame headers (AAC in ADTS, AC-3).

A PES of audio holds as many frames as the muxer grouped: one normally, but several short
ones (silence compresses to a few bytes a frame) when FFmpeg fills its minimum PES payload.
Where a stream's audio *ends* is the last PES's PTS plus all of its frames, so the splicer
counts them instead of assuming one.

Feed the PES payload (the bytes after the PES header) as it arrives, packet by packet;
:attr:`AudioFrames.frames` is the count so far. Bytes that are not a frame header where one
is due stop the count (it stays at what was found; never below one for a started PES).
"""

from __future__ import annotations

_ADTS_HEADER = 7
_AC3_HEADER = 5
# AC-3 frame sizes in 16-bit words by sample rate code (48, 44.1, 32 kHz) and frame size
# code (ATSC A/52 table 5.18).
_AC3_WORDS = (
    (64, 64, 80, 80, 96, 96, 112, 112, 128, 128, 160, 160, 192, 192, 224, 224, 256, 256,
     320, 320, 384, 384, 448, 448, 512, 512, 640, 640, 768, 768, 896, 896, 1024, 1024,
     1152, 1152, 1280, 1280),
    (69, 70, 87, 88, 104, 105, 121, 122, 139, 140, 174, 175, 208, 209, 243, 244, 278, 279,
     348, 349, 417, 418, 487, 488, 557, 558, 696, 697, 835, 836, 975, 976, 1114, 1115,
     1253, 1254, 1393, 1394),
    (96, 96, 120, 120, 144, 144, 168, 168, 192, 192, 240, 240, 288, 288, 336, 336, 384, 384,
     480, 480, 576, 576, 672, 672, 768, 768, 960, 960, 1152, 1152, 1344, 1344, 1536, 1536,
     1728, 1728, 1920, 1920),
)  # fmt: skip
SAMPLES_PER_FRAME = {"aac": 1024, "ac3": 1536}


def _adts(header: bytes) -> tuple[int, int] | None:
    """(frame length in bytes, frames it holds) of an ADTS header, or ``None``."""
    if header[0] != 0xFF or header[1] & 0xF6 != 0xF0:
        return None
    length = ((header[3] & 0x03) << 11) | (header[4] << 3) | (header[5] >> 5)
    return (length, 1 + (header[6] & 0x03)) if length >= _ADTS_HEADER else None


def _ac3(header: bytes) -> tuple[int, int] | None:
    """(frame length in bytes, 1) of an AC-3 sync frame header, or ``None``."""
    if header[0] != 0x0B or header[1] != 0x77:
        return None
    rate, size = header[4] >> 6, header[4] & 0x3F
    if rate > 2 or size >= len(_AC3_WORDS[0]):
        return None
    return 2 * _AC3_WORDS[rate][size], 1


class AudioFrames:
    """Counts the frames of one PES of ``codec`` (``"aac"`` or ``"ac3"``)."""

    def __init__(self, codec: str) -> None:
        self._header, self._parse = (_AC3_HEADER, _ac3) if codec == "ac3" else (_ADTS_HEADER, _adts)
        self.frames = 0
        self._skip = 0  # bytes of the current frame still to come
        self._partial = b""  # the start of a header split between packets
        self._lost = False

    def start(self) -> None:
        """A new PES begins."""
        self.frames, self._skip, self._partial, self._lost = 0, 0, b"", False

    def feed(self, payload: bytes | bytearray) -> None:
        """More of the PES payload."""
        if self._lost:
            return
        data = self._partial + bytes(payload)
        self._partial = b""
        at = self._skip
        while at < len(data):
            if len(data) - at < self._header:
                self._partial = data[at:]
                at = len(data)
                break
            found = self._parse(data[at : at + self._header])
            if found is None:
                self._lost = True
                return
            length, frames = found
            self.frames += frames
            at += length
        self._skip = at - len(data)
