"""Uploaded logo images: decoded and re-encoded before they are stored.

A file that only *looks* like an image (a PNG signature and garbage) used to be stored as
is; used as a watermark it made every FFmpeg start fail. So an upload is decoded with
Pillow, checked against the limits and written out again as a fresh PNG, scaled down to
fit :data:`MAX_STORED_SIDE`. Anything that does not decode is refused with the reason.

Limits: :data:`MAX_UPLOAD_BYTES` of file, :data:`MAX_PIXELS` and :data:`MAX_SIDE` read
from the header *before* any pixel is decoded (a small file can declare a huge image).
"""

from __future__ import annotations

import io
import struct
import warnings

from exstreamtv.errors import InvalidInput

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 16_000_000
MAX_SIDE = 8192
MAX_STORED_SIDE = 1024
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


def reencode_logo(data: bytes) -> bytes:
    """``data`` decoded and written again as a PNG (RGBA or RGB), at most
    :data:`MAX_STORED_SIDE` pixels on a side. CPU-bound: call it in a worker thread.

    Raises :class:`InvalidInput` naming the reason: too large, not an image, an image
    format other than PNG, JPEG, WebP or GIF, too many pixels, or undecodable data.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"a logo may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    if not data:
        raise InvalidInput("the logo file is empty")
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (an idle server never needs it)

    errors = (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error, EOFError,
              Image.DecompressionBombError, Image.DecompressionBombWarning)  # fmt: skip
    try:
        with warnings.catch_warnings():
            # A header declaring more pixels than Pillow's own bound is a bomb: refuse it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _reencode(data)
    except errors as err:
        raise InvalidInput(f"the logo is not a readable image ({_reason(err)})") from None


def _reencode(data: bytes) -> bytes:
    from PIL import Image  # noqa: PLC0415 (loaded by reencode_logo)

    with Image.open(io.BytesIO(data), formats=FORMATS) as image:
        width, height = image.size
        if width < 1 or height < 1 or max(width, height) > MAX_SIDE:
            raise InvalidInput(f"a logo may be at most {MAX_SIDE} pixels on a side")
        if width * height > MAX_PIXELS:
            raise InvalidInput(f"a logo may have at most {MAX_PIXELS:,} pixels")
        image.load()
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        picture = image.convert("RGBA" if has_alpha else "RGB")
    picture.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _reason(err: BaseException) -> str:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 (loaded by reencode_logo)

    if isinstance(err, UnidentifiedImageError):
        return "not a PNG, JPEG, WebP or GIF image"
    if isinstance(err, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return "it declares far too many pixels"
    text = str(err).strip() or type(err).__name__
    return text[:200]
