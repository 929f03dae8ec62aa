"""GIF: a block walk that counts frames and extensions, and a served copy with the picture and animation only.

Kept: the header, logical screen and colour tables, every frame (image descriptor and LZW data), graphic control
extensions (frame timing and transparency), the looping extension (``NETSCAPE2.0`` / ``ANIMEXTS1.0``) and an ICC
profile extension (``ICCRGBG1``). Dropped: comment extensions (free text: anything, a location included), plain
text extensions, other application extensions (XMP among them) and every byte after the trailer (a GIF+HTML
polyglot is served as a plain GIF). GIF has no EXIF.

The walk runs before the decode and refuses animations beyond ``bounds`` (frames, frames x canvas) and files
with thousands of extension blocks. A file that ends inside its first frame is TRUNCATED; one that ends inside a
later block keeps what came before it. A byte that starts no block ends the picture, as it does in browsers
(Chromium and Firefox stop parsing there; Pillow's reader skips such bytes, which made served copies decode
differently from the upload — found by fuzzing): before the first frame it is CORRUPT, after one it is
trailing data and dropped. A first frame with no image data at all is CORRUPT.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import bounds

_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_GRAPHIC_CONTROL, _APPLICATION = 0xF9, 0xFF
_KEEP_APPLICATIONS: Final = (b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1")

# (start, end) of each block kept in the served copy.
_Spans = list[tuple[int, int]]


def prepare(data: bytes) -> Callable[[], bytes]:
    kept, complete = _walk(data)
    return lambda: _served(data, kept, complete)


def _sub_blocks_end(data: bytes, pos: int) -> int:
    """The offset just past a chain of data sub-blocks starting at ``pos`` (past the 0 terminator)."""
    n = len(data)
    while pos < n:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
    return -1  # ran off the end


def _walk(data: bytes) -> tuple[_Spans, bool]:
    """The blocks to keep, and whether the walk reached a trailer (False: the file ended inside a block)."""
    n = len(data)
    if n < 13:
        return [(0, n)], False
    flags = data[10]
    pos = 13 + (3 << ((flags & 0x07) + 1) if flags & 0x80 else 0)
    canvas = (int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"))
    kept: _Spans = [(0, min(pos, n))]
    frames = extensions = 0
    while pos < n:
        start, kind = pos, data[pos]
        if kind == _TRAILER:
            bounds.check_frames(frames, canvas)
            return kept, True
        if kind == _IMAGE:
            if pos + 10 > n:
                break
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 0x07) + 1) if local & 0x80 else 0) + 1  # descriptor, table, LZW size
            end = _sub_blocks_end(data, pos)
            if frames == 0 and pos < n and data[pos] == 0:
                raise InvalidImage(RejectReason.CORRUPT, "The GIF's first frame has no image data.")
            if end < 0:
                if frames == 0:  # the first frame is cut short (found by fuzzing: its LZW data was complete)
                    raise InvalidImage(RejectReason.TRUNCATED, "The GIF file is truncated.")
                break  # a later frame cut short: the served copy keeps the complete ones
            frames += 1
            if frames > bounds.MAX_FRAMES:
                bounds.check_frames(frames, canvas)
            kept.append((start, end))
            pos = end
            continue
        if kind != _EXTENSION:
            if frames == 0:
                raise InvalidImage(RejectReason.CORRUPT, f"The GIF structure is damaged at byte {pos}.")
            break  # what follows is not part of the picture
        if pos + 2 > n:
            break
        label = data[pos + 1]
        end = _sub_blocks_end(data, pos + 2)
        if end < 0:
            break
        if label == _GRAPHIC_CONTROL or (
            label == _APPLICATION and data[pos + 3 : pos + 14].startswith(_KEEP_APPLICATIONS)
        ):
            kept.append((start, end))
        else:
            extensions += 1
            if extensions > bounds.MAX_GIF_EXTENSIONS:
                raise bounds.too_complex(f"The GIF has more than {bounds.MAX_GIF_EXTENSIONS} extension blocks.")
        pos = end
    bounds.check_frames(frames, canvas)
    return kept, False


def _served(data: bytes, kept: _Spans, complete: bool) -> bytes:
    body = b"".join(data[start:end] for start, end in kept) + b"\x3b"
    return data if complete and body == data else body
