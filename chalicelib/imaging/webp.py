"""WebP: a chunk walk that bounds the work, and a served copy with the picture, its colours and animation only.

Kept: ``VP8 ``, ``VP8L``, ``VP8X`` (flags fixed up), ``ALPH``, ``ICCP``, ``ANIM`` and ``ANMF`` (frames).
Dropped: ``EXIF``, ``XMP `` and unknown chunks, and any bytes after the RIFF size (a WebP+HTML polyglot is served
as a plain WebP). The walk counts chunks and animation frames before the decode (``bounds``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from chalicelib.imaging import bounds

_VP8X_EXIF_FLAG: Final = 0x08
_VP8X_XMP_FLAG: Final = 0x04
_KEEP: Final = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP", b"ANIM", b"ANMF"})


def prepare(data: bytes) -> Callable[[], bytes]:
    chunks, end = _walk(data)
    return lambda: _served(data, chunks, end)


def _walk(data: bytes) -> tuple[list[tuple[bytes, int, int]], int]:
    """``(fourcc, start, end)`` of every chunk inside the RIFF size, and where the RIFF ends."""
    riff_end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks: list[tuple[bytes, int, int]] = []
    pos = 12
    frames = 0
    canvas = (0, 0)
    while pos + 8 <= riff_end:
        fourcc = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = min(pos + 8 + size + (size & 1), riff_end)  # chunks are padded to an even length
        chunks.append((fourcc, pos, end))
        if fourcc == b"VP8X" and end - pos >= 18:
            canvas = (
                1 + int.from_bytes(data[pos + 12 : pos + 15], "little"),
                1 + int.from_bytes(data[pos + 15 : pos + 18], "little"),
            )
        elif fourcc == b"ANMF":
            frames += 1
        if len(chunks) > bounds.MAX_WEBP_CHUNKS:
            raise bounds.too_complex(f"The WebP has more than {bounds.MAX_WEBP_CHUNKS} chunks.")
        pos = end
    bounds.check_frames(frames, canvas)
    return chunks, riff_end


def _served(data: bytes, chunks: list[tuple[bytes, int, int]], riff_end: int) -> bytes:
    kept = [data[start:end] for fourcc, start, end in chunks if fourcc in _KEEP]
    if len(kept) == len(chunks) and riff_end == len(data):
        return data
    for i, chunk in enumerate(kept):
        if chunk.startswith(b"VP8X") and len(chunk) > 8:
            flags = chunk[8] & ~(_VP8X_EXIF_FLAG | _VP8X_XMP_FLAG)
            kept[i] = chunk[:8] + bytes([flags]) + chunk[9:]
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body
