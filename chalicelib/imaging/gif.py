"""GIF: the XMP application extension is dropped; GIF has no EXIF."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

_XMP_EXTENSION: Final = b"\x21\xff\x0bXMP DataXMP"


def prepare(data: bytes) -> Callable[[], bytes]:
    return lambda: _served(data)


def _served(data: bytes) -> bytes:
    """Drop XMP application extensions; the decode already proved the first frame's structure."""
    xmp = data.find(_XMP_EXTENSION)
    if xmp < 0:
        return data
    parts: list[bytes] = []
    copied = 0
    while xmp >= 0:
        # The XMP extension is a chain of sub-blocks ending in a 0 length, followed by a 257-byte "magic
        # trailer" that is itself valid sub-block data; walking the length bytes finds the real end either
        # way.
        pos = xmp + 14
        while pos < len(data) and data[pos] != 0:
            pos += data[pos] + 1
        parts.append(data[copied:xmp])
        copied = pos + 1
        xmp = data.find(_XMP_EXTENSION, copied)
    parts.append(data[copied:])
    return b"".join(parts)
