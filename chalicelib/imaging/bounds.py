"""Bounds on the work one upload may cost, checked while parsing and decoding (issue 11, item 1).

Bytes and pixels are bounded by settings (``MAX_UPLOAD_BYTES``, ``MAX_IMAGE_PIXELS``). Those alone leave room
for small files that cost a lot: a progressive JPEG that repeats its scans (each scan is a pass over every
block), animations of thousands of frames (a viewer composites every one), thousands of metadata chunks or
segments, compressed text that inflates a thousandfold. The structure walks (``jpeg.py``, ``png.py``,
``gif.py``, ``webp.py``) count these before any pixel is decoded and refuse the file as ``TOO_COMPLEX``;
the decode itself runs under a deadline. Real files sit far below every bound (figures in
docs/reliability.md); a hostile corpus (``scripts/hostile_corpus.py``) sits above them.
"""

from __future__ import annotations

import io
import time
from typing import Final

from chalicelib.errors import InvalidImage, RejectReason

# A progressive JPEG from libjpeg, mozjpeg or a camera has 6-12 scans; a baseline one has one scan per
# component (at most 4). libjpeg-turbo's own tools suggest 500 as a safety limit for untrusted files; 64
# keeps a 50 MP progressive decode within seconds.
MAX_JPEG_SCANS: Final = 64
# Segments before the first scan: APPn (an ICC profile may span up to 255 APP2 segments), DQT, DHT, SOF...
MAX_JPEG_SEGMENTS: Final = 512
# Chunks other than image data (IDAT/fdAT, which encoders may write in many small pieces).
MAX_PNG_ANCILLARY_CHUNKS: Final = 512
MAX_WEBP_CHUNKS: Final = 4096
# Animation: frames, and frames x canvas (what a viewer composites per loop).
MAX_FRAMES: Final = 1000
MAX_ANIMATION_PIXELS: Final = 1_000_000_000
# GIF extension blocks (comments, application data) that are not frames.
MAX_GIF_EXTENSIONS: Final = 2048
# The one decode's wall-clock budget. The bounds above keep real work far below it; it is the backstop for
# whatever they miss. Checked between the decoder's reads (every 64 KB of input).
DECODE_SECONDS: Final = 20.0


def too_complex(message: str, **details: object) -> InvalidImage:
    return InvalidImage(RejectReason.TOO_COMPLEX, message, **details)


def check_frames(frames: int, canvas: tuple[int, int]) -> None:
    """Refuse an animation with too many frames, or too many frames for its canvas (a still image passes)."""
    if frames <= 1:
        return  # one picture: the pixel bound (a setting) is the one that applies
    if frames > MAX_FRAMES:
        raise too_complex(f"The animation has {frames} frames; the limit is {MAX_FRAMES}.", frames=frames)
    if frames * canvas[0] * canvas[1] > MAX_ANIMATION_PIXELS:
        raise too_complex(
            f"The animation has {frames} frames of {canvas[0]}x{canvas[1]}; that is too much to show.",
            frames=frames,
        )


class DeadlineReader(io.BytesIO):
    """``BytesIO`` whose reads fail once a deadline (``time.monotonic()``) has passed.

    Pillow's ``ImageFile.load`` feeds the decoder in 64 KB reads, so a decode that runs past its deadline
    stops at the next read with ``TOO_COMPLEX`` rather than holding the processor until its timeout.
    """

    def __init__(self, data: bytes, deadline: float) -> None:
        super().__init__(data)
        self._deadline = deadline

    def read(self, size: int | None = -1, /) -> bytes:
        if time.monotonic() > self._deadline:
            raise too_complex("Decoding the image took too long.")
        return super().read(size)
