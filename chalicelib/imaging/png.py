"""PNG: the ``eXIf`` chunk and text chunks holding XMP or raw EXIF/IPTC profiles are dropped; every other
chunk is copied verbatim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Text keywords that carry XMP (which may hold GPS) or raw EXIF/IPTC profiles (ImageMagick's convention).
_PNG_METADATA_KEYWORDS: Final = (b"XML:com.adobe.xmp", b"Raw profile type")


def prepare(data: bytes) -> Callable[[], bytes]:
    return lambda: _served(data)


def _served(data: bytes) -> bytes:
    parts = [_PNG_SIGNATURE]
    pos, n, changed = len(_PNG_SIGNATURE), len(data), False
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        chunk = data[pos:end]
        if kind == b"eXIf" or (kind in (b"tEXt", b"zTXt", b"iTXt") and chunk[8:].startswith(_PNG_METADATA_KEYWORDS)):
            changed = True
        else:
            parts.append(chunk)
        pos = end
        if kind == b"IEND":
            break
    return b"".join(parts) if changed else data
