"""Name an image format by its magic bytes alone: never by the filename or the claimed Content-Type.

It recognises more than we accept (BMP, TIFF, HEIF, ...) so that those are refused as ``UNSUPPORTED_FORMAT``
rather than ``NOT_AN_IMAGE``; which formats are accepted is the catalog's business (``chalicelib/catalog.py``).
"""

from __future__ import annotations

from typing import Final

# How many leading bytes sniff() needs; an ISO-BMFF ftyp box lists its brands within the first few dozen.
SNIFF_BYTES: Final = 64

_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JXL"),
    (b"\xff\x0a", "JXL"),
    (b"qoif", "QOI"),
    (b"DDS ", "DDS"),
    (b"icns", "ICNS"),
)
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def sniff(head: bytes) -> str | None:
    """Name the image format of ``head`` (the first :data:`SNIFF_BYTES` or more) by magic bytes alone.

    Returns a Pillow format name (``"JPEG"``, ``"PNG"``, ``"GIF"``, ``"WEBP"``, ``"AVIF"``; also ``"HEIF"``,
    ``"BMP"``, ``"TIFF"`` ... so they can be refused as unsupported) or ``None`` for anything that is not a
    raster image we recognise: text, HTML, SVG, PDF, video.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _sniff_ftyp(head: bytes) -> str | None:
    # ISO-BMFF: size(4) 'ftyp' major_brand(4) minor_version(4) compatible_brands(4 each) up to the box size.
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return None  # mp4, mov and friends: not an image
