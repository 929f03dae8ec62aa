"""JPEG: a walk of the marker structure (refuses damage libjpeg would only warn about) and the lossless scrub.

libjpeg recovers from damaged entropy data with a warning ("Corrupt JPEG data: N extraneous bytes before marker")
that Pillow silences, so a file with a spliced or overwritten region would otherwise decode "successfully" into
garbage. :func:`prepare` walks every segment and scan (no pixel decode) and refuses such a file.

The served copy is rewritten segment by segment, never re-encoded. The Exif APP1 is rewritten without the GPS
IFD (0x8825) when it has one (other tags, orientation included, are kept; the IFD1 embedded thumbnail is
dropped); XMP APP1 (also extended XMP), Photoshop APP13 (IPTC holds city/country), COM, the MPF APP2 and any
other APPn are dropped; JFIF APP0, ICC APP2 and Adobe APP14 (needed for colour transforms) are kept. Anything
after the first EOI (MPO secondary images, vendor trailers, which may carry their own GPS) is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import bounds
from chalicelib.imaging.exif import exif_without_gps

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
# Markers that may legally end an entropy-coded scan (what comes next in a baseline or progressive file).
_SEGMENT_MARKERS: Final = frozenset(
    {*range(0xC0, 0xC8), *range(0xC9, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, *range(0xE0, 0xF0), 0xFE}
)
# A run of 0xFF fill bytes, then a marker byte (0x00 after 0xFF is byte stuffing, not a marker).
_NEXT_MARKER: Final = re.compile(rb"\xff+[^\x00\xff]")
# Inside a scan: the marker that ends it (anything but stuffing, a fill byte or a restart marker), and the
# restart markers RST0..RST7, which must come in sequence.
_SCAN_END: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_RST_MARKER: Final = re.compile(rb"\xff([\xd0-\xd7])")
_RST_CYCLE: Final = bytes(range(0xD0, 0xD8))

_APP0, _APP1, _APP2, _APP13, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xED, 0xEE, 0xFE
_APP_MARKERS: Final = range(0xE0, 0xF0)
_EXIF_HEADER: Final = b"Exif\x00\x00"


@dataclass(frozen=True)
class _Segment:
    marker: int
    start: int  # offset of the 0xFF that starts the marker
    end: int  # offset just past the segment (for SOS: past its header, not its entropy-coded data)


@dataclass(frozen=True)
class _JpegLayout:
    header: list[_Segment]  # every segment before the first SOS
    body_start: int  # the first SOS
    end: int  # just past the EOI, or the end of data when there is none


def prepare(data: bytes) -> Callable[[], bytes]:
    """Walk the structure (raises ``InvalidImage`` on damage); the scrub reuses the walk."""
    layout = _layout(data)
    return lambda: _served(data, layout)


def _layout(data: bytes) -> _JpegLayout:
    """Walk the JPEG marker structure, scans included, without decoding; raise on damage.

    A marker that cannot follow a scan (a second SOI, a reserved marker) or restart markers out of sequence
    mean CORRUPT; data that ends inside the headers means TRUNCATED; more scans or segments than
    :mod:`~chalicelib.imaging.bounds` allows mean TOO_COMPLEX (a progressive file repeating its scans costs a
    pass over every block per scan). Bytes that are not a marker where one should start (a segment whose
    length field is wrong, such as a Photoshop APP13 written too short) are skipped to the next marker, as
    libjpeg does; the decode then decides.
    """
    n = len(data)
    pos = 2  # past SOI (sniff checked it)
    header: list[_Segment] = []
    body_start = -1
    scans = segments = 0
    while True:
        if pos >= n:
            raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
        if data[pos] != 0xFF:
            resync = _NEXT_MARKER.search(data, pos)
            if resync is None:
                raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
            pos = resync.start()
        start = pos
        while pos < n and data[pos] == 0xFF:  # fill bytes may precede any marker
            pos += 1
        if pos >= n:
            raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return _JpegLayout(header, body_start, pos)
        if marker not in _SEGMENT_MARKERS:
            raise InvalidImage(RejectReason.CORRUPT, f"Unexpected JPEG marker 0x{marker:02X} at byte {start}.")
        if pos + 2 > n:
            raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise InvalidImage(RejectReason.CORRUPT, f"A JPEG segment at byte {start} has a bad length.")
        pos += length
        if pos > n:
            raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
        if marker != _SOS:
            segments += 1
            if segments > bounds.MAX_JPEG_SEGMENTS:
                raise bounds.too_complex(f"The JPEG has more than {bounds.MAX_JPEG_SEGMENTS} segments.")
            if body_start < 0:
                header.append(_Segment(marker, start, pos))
            continue
        scans += 1
        if scans > bounds.MAX_JPEG_SCANS:
            raise bounds.too_complex(f"The JPEG has more than {bounds.MAX_JPEG_SCANS} scans.", scans=scans)
        if body_start < 0:
            body_start = start
        pos = _skip_scan(data, pos)
        if pos >= n:
            # No EOI after the last scan: leave it to the decoder, which raises if pixels are really missing.
            return _JpegLayout(header, body_start, n)


def _skip_scan(data: bytes, pos: int) -> int:
    """Skip entropy-coded data, checking the RST0..7 sequence; return the offset of the marker ending it.

    Two C-level passes instead of a Python step per marker (a camera writing a restart marker every 4 MCUs
    puts ~30,000 in an 8 MP photo): one search for the first marker that is not a restart marker, then the
    restart markers before it, compared at once with the cycle RST0, RST1, ... RST7, RST0, ...
    """
    end_match = _SCAN_END.search(data, pos)
    end = end_match.start() if end_match else len(data)
    found = b"".join(_RST_MARKER.findall(data, pos, end))
    if found and found != (_RST_CYCLE * (len(found) // 8 + 1))[: len(found)]:
        wrong = next(
            i for i, (a, b) in enumerate(zip(found, _RST_CYCLE * (len(found) // 8 + 1), strict=False)) if a != b
        )
        at = [m.start() for m in _RST_MARKER.finditer(data, pos, end)][wrong]
        raise InvalidImage(RejectReason.CORRUPT, f"JPEG restart markers are out of sequence at byte {at}.")
    return end


def _served(data: bytes, layout: _JpegLayout) -> bytes:
    parts: list[bytes] = [data[:2]]  # SOI
    changed = layout.end != len(data)  # trailing data (MPO images, vendor trailers) is dropped
    for seg in layout.header:
        raw = data[seg.start : seg.end]
        payload = raw[4:]
        if seg.marker == _APP1 and payload.startswith(_EXIF_HEADER):
            kept = exif_without_gps(payload)
            if kept != payload:
                changed = True
                if kept:
                    parts.append(b"\xff\xe1" + (len(kept) + 2).to_bytes(2, "big") + kept)
                continue
        elif seg.marker in _APP_MARKERS or seg.marker == _COM:
            keep = (
                seg.marker == _APP0
                or seg.marker == _APP14
                or (seg.marker == _APP2 and payload.startswith(b"ICC_PROFILE\x00"))
            )
            if not keep:  # XMP, extended XMP, IPTC/Photoshop, MPF, comments, vendor blocks
                changed = True
                continue
        parts.append(raw)
    if not changed:
        return data
    parts.append(data[layout.body_start : layout.end])
    return b"".join(parts)
