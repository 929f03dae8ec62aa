"""WebP: the ``EXIF`` and ``XMP `` chunks are dropped and the VP8X flags and RIFF size fixed up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

_VP8X_EXIF_FLAG: Final = 0x08
_VP8X_XMP_FLAG: Final = 0x04


def prepare(data: bytes) -> Callable[[], bytes]:
    return lambda: _served(data)


def _served(data: bytes) -> bytes:
    chunks: list[bytes] = []
    pos, n, changed = 12, len(data), False
    while pos + 8 <= n:
        fourcc = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + size + (size & 1)  # chunks are padded to an even length
        if fourcc in (b"EXIF", b"XMP "):
            changed = True
        else:
            chunks.append(data[pos:end])
        pos = end
    if not changed:
        return data
    for i, chunk in enumerate(chunks):
        if chunk.startswith(b"VP8X"):
            flags = chunk[8] & ~(_VP8X_EXIF_FLAG | _VP8X_XMP_FLAG)
            chunks[i] = chunk[:8] + bytes([flags]) + chunk[9:]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body
