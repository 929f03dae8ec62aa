"""PNG (and APNG): a chunk walk that bounds the work, and a served copy that keeps only what draws the picture.

Kept: the chunks that define the pixels and their colours — IHDR, PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB,
iCCP, sBIT, cICP, mDCv, cLLi, pHYs, bKGD — and the animation (acTL, fcTL, fdAT). ``eXIf`` is replaced by one
holding only the orientation (browsers honour it; GPS and camera tags go). Everything else is dropped: text
(``tEXt``/``zTXt``/``iTXt`` hold whatever a tool wrote: ``GPSLatitude``, ``Location``, comments, XMP), ``tIME``,
private and unknown chunks, and any bytes after IEND (a PNG+HTML polyglot is served as a plain PNG). A missing
IEND is added.

The walk counts chunks other than image data and APNG frames before the decode (``bounds``); a chunk that runs
past the end of the file is TRUNCATED.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import bounds
from chalicelib.imaging.exif import minimal_exif

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_KEEP: Final = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"cICP",
        b"mDCv", b"cLLi", b"pHYs", b"bKGD", b"acTL", b"fcTL", b"fdAT",
    }
)  # fmt: skip
_IMAGE_DATA: Final = frozenset({b"IDAT", b"fdAT"})


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    start: int
    end: int  # past the CRC (or the end of the data, for a chunk cut short)


def prepare(data: bytes) -> Callable[[], bytes]:
    chunks, end = _walk(data)
    return lambda: _served(data, chunks, end)


def _walk(data: bytes) -> tuple[list[_Chunk], int]:
    """Every chunk up to and including IEND, and the offset just past it; raises when a bound is passed."""
    chunks: list[_Chunk] = []
    pos, n = len(_SIGNATURE), len(data)
    other = frames = 0
    size = (0, 0)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > n:
            # A chunk that runs past the end: the file is cut short (Pillow may still decode a complete zlib
            # stream inside it, but no lossless copy can end cleanly there). Found by fuzzing.
            raise InvalidImage(RejectReason.TRUNCATED, "The PNG file is truncated.")
        chunks.append(_Chunk(kind, pos, end))
        if kind == b"IHDR" and end - pos >= 16:
            size = struct.unpack(">II", data[pos + 8 : pos + 16])
        pos = end
        if kind == b"fcTL":
            frames += 1
        if kind not in _IMAGE_DATA:
            other += 1
            if other > bounds.MAX_PNG_ANCILLARY_CHUNKS:
                raise bounds.too_complex(f"The PNG has more than {bounds.MAX_PNG_ANCILLARY_CHUNKS} chunks.")
        if kind == b"IEND":
            break
    if frames > 1:
        bounds.check_frames(frames, size)
    return chunks, pos


def _served(data: bytes, chunks: list[_Chunk], end: int) -> bytes:
    parts = [_SIGNATURE]
    changed = end != len(data)  # bytes after IEND
    for chunk in chunks:
        raw = data[chunk.start : chunk.end]
        if chunk.kind in _KEEP:
            parts.append(raw)
            continue
        changed = True
        if chunk.kind == b"eXIf":
            kept = minimal_exif(raw[8:-4]).removeprefix(b"Exif\x00\x00")
            if kept:
                parts.append(_chunk(b"eXIf", kept))
    if not chunks or chunks[-1].kind != b"IEND":
        parts.append(_chunk(b"IEND", b""))  # a file cut after its image data still ends like a PNG
        changed = True
    return b"".join(parts) if changed else data


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")
