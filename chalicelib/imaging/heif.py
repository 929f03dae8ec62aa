"""HEIC/HEIF (the iPhone's default) through pillow-heif, which bundles libheif.

Registering the opener makes Pillow's ``Image.open(formats=["HEIF"])`` work; libheif applies the container's
rotation and mirroring (``irot``/``imir``) while decoding and pillow-heif drops the EXIF orientation tag they
replace (kept as ``info["original_orientation"]``), so the pixels arrive upright and are never turned twice.
10-bit images decode to 8-bit RGB for the thumbnails and the display rendition (pillow-heif's default).

The served copy keeps the original bytes: re-encoding HEVC is far too slow for the processor (x265 took ~56 s
for one 8.5 MP photo at its fastest preset here), and would lose quality and 10-bit depth. Instead the location
is erased in place (docs/adr/0008-heic-location-in-place.md): the GPS IFD inside the Exif item is emptied and its
values zeroed, and an XMP item is overwritten with an empty packet of the same length. No offset in the
container moves, so the ICC profile, the image items and their bit depth stay exactly as uploaded. Browsers
cannot show HEIC, so the pipeline also makes a display rendition (``catalog.Format.display_rendition``).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Final

import pillow_heif

from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging.exif import TAG_GPS_IFD

pillow_heif.register_heif_opener()

_TYPE_BYTES: Final = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_EMPTY_XMP: Final = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
    b'<?xpacket end="w"?>',
)


def prepare(data: bytes) -> Callable[[], bytes]:
    return lambda: served(data)


def served(data: bytes) -> bytes:
    """``data`` with every location erased in place (same length, same offsets)."""
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    out = bytearray(data)
    for image in heif:
        exif = image.info.get("exif")
        if isinstance(exif, bytes) and exif:
            _erase_gps(out, exif)
        xmp = image.info.get("xmp")
        if isinstance(xmp, bytes) and xmp:
            _blank_xmp(out, xmp)
    return bytes(out)


def _locate(out: bytearray, payload: bytes) -> int:
    start = out.find(payload)
    if start < 0:
        # The metadata is not stored verbatim (compressed items): we cannot prove the location is gone.
        raise InvalidImage(
            RejectReason.UNSUPPORTED_FORMAT, "The HEIC file stores its metadata in a form we cannot clean."
        )
    return start


def _erase_gps(out: bytearray, exif: bytes) -> None:
    tiff = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    base = _locate(out, tiff)
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[:2]))
    if order is None:
        raise InvalidImage(RejectReason.CORRUPT, "The HEIC file's Exif block is damaged.")

    def u16(at: int) -> int:
        return int(struct.unpack_from(order + "H", out, base + at)[0])

    def u32(at: int) -> int:
        return int(struct.unpack_from(order + "I", out, base + at)[0])

    try:
        ifd0 = u32(4)
        gps = next(
            (u32(ifd0 + 2 + 12 * i + 8) for i in range(u16(ifd0)) if u16(ifd0 + 2 + 12 * i) == TAG_GPS_IFD), None
        )
        if gps is None:
            return
        count = u16(gps)
        for i in range(count):
            entry = gps + 2 + 12 * i
            size = _TYPE_BYTES.get(u16(entry + 2), 1) * u32(entry + 4)
            if size > 4:  # the value lives elsewhere: zero it too
                offset = u32(entry + 8)
                out[base + offset : base + offset + size] = bytes(size)
            out[base + entry : base + entry + 12] = bytes(12)
        # An empty IFD: no entries, and (the zeroed bytes that follow) no next IFD.
        out[base + gps : base + gps + 2] = bytes(2)
    except (struct.error, IndexError) as exc:
        raise InvalidImage(RejectReason.CORRUPT, "The HEIC file's Exif block is damaged.") from exc


def _blank_xmp(out: bytearray, xmp: bytes) -> None:
    start = _locate(out, xmp)
    head, tail = _EMPTY_XMP
    pad = len(xmp) - len(head) - len(tail)
    blank = head + b" " * pad + tail if pad >= 0 else b" " * len(xmp)
    out[start : start + len(xmp)] = blank
