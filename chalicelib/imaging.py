"""The pure Pillow image pipeline: sniff, validate, orient, thumbnail, strip location.

Both the SQS processor and the multipart upload endpoint call :func:`process`; it imports nothing from Chalice
or boto3 and does no I/O. Every bad file becomes ``InvalidImage(RejectReason.X, ...)``; Pillow's exceptions
are translated here (``raise ... from exc``) and never escape.

Checks, in order (the cheap ones first, so a hostile file costs as little as possible):

1. empty -> ``EMPTY_FILE``; more than ``max_bytes`` -> ``TOO_LARGE``;
2. magic bytes (:func:`sniff`) say it is not an image -> ``NOT_AN_IMAGE``; an image format we do not serve
   (HEIC, BMP, TIFF, ...) -> ``UNSUPPORTED_FORMAT``. The filename and the claimed content type are never
   looked at;
3. JPEG only: a walk of the marker structure (no pixel decode) -> ``CORRUPT`` / ``TRUNCATED``. libjpeg merely
   *warns* about damaged entropy data and Pillow silences those warnings, so without this walk a file with a
   spliced or overwritten region decodes "successfully" into garbage;
4. header parse (``Image.open`` reads no pixels) -> width x height above ``max_pixels`` ->
   ``TOO_MANY_PIXELS``;
5. a full real decode (``load()``) -> ``TRUNCATED`` / ``CORRUPT``. ``LOAD_TRUNCATED_IMAGES`` is never set.

Thumbnails: EXIF orientation applied, longest side = each of ``sizes``, never upscaled. For JPEG the one
decode uses ``draft()`` so libjpeg scales by 1/2, 1/4 or 1/8 in the DCT domain, then a cascade (600 from the
decoded image, 300 from the 600, 150 from the 300). That one reduced decode is also the validation decode:
libjpeg still entropy-decodes every block, so truncation is still caught. Opaque thumbnails are JPEG (RGB,
quality 85); images with transparency give WebP to keep alpha. Animated GIF/WebP: the first frame. Thumbnails
carry no EXIF/XMP (the ICC profile is kept so colours stay right).

``served`` (the copy we serve as "the file") keeps the original pixels and drops location metadata,
losslessly:

- JPEG: the bytes are rewritten segment by segment, never re-encoded. The Exif APP1 is rewritten without the
  GPS IFD (0x8825) when it has one (other tags, orientation included, are kept; the IFD1 embedded thumbnail is
  dropped); XMP APP1 (also extended XMP), Photoshop APP13 (IPTC holds city/country), COM, the MPF APP2 and any
  other APPn are dropped; JFIF APP0, ICC APP2 and Adobe APP14 (needed for colour transforms) are kept.
  Anything after the first EOI (MPO secondary images, vendor trailers, which may carry their own GPS) is
  dropped.
- PNG: the ``eXIf`` chunk and text chunks holding XMP or raw EXIF/IPTC profiles are dropped; every other chunk
  is copied verbatim.
- WebP: the ``EXIF`` and ``XMP `` chunks are dropped and the VP8X flags and RIFF size fixed up.
- GIF: the XMP application extension is dropped; GIF has no EXIF.
- AVIF: re-encoded without EXIF/XMP only when the file has any (lossy; AVIF is rare as an upload), else
  unchanged.

If nothing needed removing, ``served.data`` is the uploaded bytes themselves.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from PIL import Image, UnidentifiedImageError, features

from chalicelib.errors import InvalidImage, RejectReason

THUMBNAIL_SIZES: tuple[int, ...] = (600, 300, 150)


def _avif_decodable() -> bool:
    try:
        return bool(features.check_module("avif"))
    except ValueError:  # a Pillow older than 11.2 does not know the module name at all
        return False


ALLOWED_FORMATS: Final[frozenset[str]] = frozenset(
    {"JPEG", "PNG", "GIF", "WEBP"} | ({"AVIF"} if _avif_decodable() else set())
)

_CONTENT_TYPES: Final[dict[str, tuple[str, str]]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "AVIF": ("image/avif", "avif"),
}

# How many leading bytes sniff() needs; an ISO-BMFF ftyp box lists its brands within the first few dozen.
SNIFF_BYTES: Final = 64

_THUMB_JPEG_QUALITY: Final = 85
_THUMB_WEBP_QUALITY: Final = 85
# Resize first reduces by an integer factor (a fast box filter) down to >= gap x target, then resamples the
# rest with LANCZOS: near-LANCZOS quality at a fraction of its cost. Pillow's thumbnail() uses 2.0 as well.
_REDUCING_GAP: Final = 2.0

# EXIF Orientation -> the transpose that makes the image upright (the table ImageOps.exif_transpose uses).
_ORIENTATION_FIX: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TAG_ORIENTATION: Final = 0x0112
_TAG_GPS_IFD: Final = 0x8825


@dataclass(frozen=True)
class Rendition:
    """One stored file: a thumbnail, or the served copy of the original. Sizes are upright (as displayed)."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    """What :func:`process` learned and made. ``width``/``height`` are upright, after EXIF orientation."""

    format: str
    content_type: str
    width: int
    height: int
    sha256: str
    served: Rendition
    thumbnails: dict[int, Rendition]


# --- sniffing ----------------------------------------------------------------------------------

# Image formats we recognise in order to refuse them by name (UNSUPPORTED_FORMAT rather than NOT_AN_IMAGE).
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


# --- the pipeline --------------------------------------------------------------------------------


def process(
    data: bytes, *, max_bytes: int, max_pixels: int, sizes: tuple[int, ...] = THUMBNAIL_SIZES
) -> ProcessedImage:
    """Validate ``data`` by content and make the served copy and the thumbnails. Raises ``InvalidImage``."""
    if not data:
        raise InvalidImage(RejectReason.EMPTY_FILE, "The file is empty.")
    if len(data) > max_bytes:
        raise InvalidImage(RejectReason.TOO_LARGE, f"The file is {len(data)} bytes; the limit is {max_bytes} bytes.")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"thumbnail sizes must be positive, got {sizes!r}")  # a caller's bug, not the file's
    fmt = sniff(data[:SNIFF_BYTES])
    if fmt is None:
        raise InvalidImage(RejectReason.NOT_AN_IMAGE, "The file is not an image.")
    if fmt not in ALLOWED_FORMATS:
        allowed = ", ".join(sorted(ALLOWED_FORMATS))
        raise InvalidImage(RejectReason.UNSUPPORTED_FORMAT, f"{fmt} images are not supported; use {allowed}.")

    jpeg_segments = _jpeg_header_segments(data) if fmt == "JPEG" else None
    with _pillow_errors():
        with _open(data, fmt) as im:
            _check_pixels(im.size, max_pixels)
            stored_size = im.size  # before draft() shrinks it
            _decode(im, fmt, max(sizes))
            # Only after load(): PNG's getexif() would otherwise load the pixels itself, and a decode error
            # must not be mistaken for unreadable EXIF.
            orientation = _orientation(im)
            width, height = _upright(stored_size, orientation)
            thumbnails = _thumbnails(im, stored_size, orientation, (width, height), sizes)
        served_bytes = _served_bytes(data, fmt, jpeg_segments)

    content_type, extension = _CONTENT_TYPES[fmt]
    return ProcessedImage(
        format=fmt,
        content_type=content_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        served=Rendition(served_bytes, content_type, extension, width, height),
        thumbnails=thumbnails,
    )


# Python < 3.14 keeps warning filters in process-global state, so catch_warnings() is not thread-safe; the
# lock keeps our own callers (a threaded dev server) from restoring each other's filters.
_WARNINGS_LOCK: Final = threading.Lock()


def _open(data: bytes, fmt: str) -> Image.Image:
    """Parse the header only (no pixels) with the one plugin the magic bytes named."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        # Our max_pixels bound (checked right after) is the one that counts; Pillow's global MAX_IMAGE_PIXELS
        # warning would only leak to stderr (or, under `-W error`, refuse files our bound allows). Pillow
        # still *raises* DecompressionBombError past 2x its limit, which we translate to TOO_MANY_PIXELS.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=[fmt])


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise InvalidImage(
            RejectReason.TOO_MANY_PIXELS,
            f"The image is {size[0]}x{size[1]} ({pixels} pixels); the limit is {max_pixels} pixels.",
        )


@contextmanager
def _pillow_errors() -> Iterator[None]:
    """Translate what Pillow raises on a hostile or damaged file to ``InvalidImage``, most specific first."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(RejectReason.TOO_MANY_PIXELS, "The image has too many pixels.") from exc
    except UnidentifiedImageError as exc:
        # The magic bytes matched, so the format is right and the header is what is broken.
        raise InvalidImage(RejectReason.CORRUPT, "The image header is damaged.") from exc
    except EOFError as exc:
        raise InvalidImage(RejectReason.TRUNCATED, "The image file is truncated.") from exc
    except OSError as exc:
        # Pillow says "image file is truncated" for JPEG/PNG/GIF cut short; other OSErrors are decoder errors
        # ("broken data stream", "decoder error -2") on damaged data.
        if "truncated" in str(exc).lower():
            raise InvalidImage(RejectReason.TRUNCATED, "The image file is truncated.") from exc
        raise InvalidImage(RejectReason.CORRUPT, "The image data is damaged.") from exc
    except (SyntaxError, ValueError, struct.error, IndexError, KeyError, ZeroDivisionError) as exc:
        # Plugins raise SyntaxError for a malformed structure ("broken PNG file"); the others come out of
        # header and metadata parsing fed nonsense values.
        raise InvalidImage(RejectReason.CORRUPT, "The image data is damaged.") from exc


# --- orientation and thumbnails --------------------------------------------------------------------


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1..8), or 1 when absent, nonsensical or unreadable."""
    try:
        value = im.getexif().get(_TAG_ORIENTATION, 1)
    except Exception:  # damaged EXIF must not cost the user their upload: treat the image as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    # Orientations 5..8 swap the axes (a transpose, possibly with a flip or a rotation).
    return (size[1], size[0]) if orientation >= 5 else size


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so its longest side is ``longest``; never upscaled; never below 1x1."""
    w, h = size
    if max(w, h) <= longest:
        return size
    if w >= h:
        return longest, max(1, round(h * longest / w))
    return max(1, round(w * longest / h)), longest


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _decode(im: Image.Image, fmt: str, largest: int) -> None:
    """The one full, real decode (raises on truncated or damaged data), at reduced scale for a large JPEG."""
    target = _fit(im.size, largest)
    if fmt == "JPEG" and target != im.size:
        # libjpeg scales in the DCT domain to the smallest 1/2, 1/4 or 1/8 that is still >= the largest
        # thumbnail: a 24 MP photo decodes into ~1.5 MP instead of 24 MP (time and, on Lambda, memory). Every
        # block is still entropy-decoded, so truncation is still caught. The longest side does not change
        # under rotation, so the stored size serves for any orientation.
        im.draft(None, target)
    im.load()


def _thumbnails(
    im: Image.Image,
    stored_size: tuple[int, int],
    orientation: int,
    upright: tuple[int, int],
    sizes: tuple[int, ...],
) -> dict[int, Rendition]:
    ordered = sorted(set(sizes), reverse=True)
    icc = im.info.get("icc_profile")
    src = _thumbnail_mode(im)

    thumbs: dict[int, Rendition] = {}
    current = src
    for size in ordered:
        # Targets come from the original size, not the previous step, so rounding does not drift.
        target = _fit(stored_size, size)
        step = (
            current
            if current.size == target
            else current.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        )
        current = step  # the cascade: the next (smaller) size is made from this one
        upright_step = step.transpose(_ORIENTATION_FIX[orientation]) if orientation in _ORIENTATION_FIX else step
        thumbs[size] = _encode_thumbnail(upright_step, icc, _fit(upright, size))
    return {size: thumbs[size] for size in sizes}


def _thumbnail_mode(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency; converting P also makes resize filter, not NEAREST."""
    if _has_alpha(im):
        return im if im.mode == "RGBA" else im.convert("RGBA")
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # 16-bit and float images: scale to 8 bits first; a plain convert("L") clips everything above 255.
        return im.point(lambda v: v / 256).convert("L").convert("RGB") if im.mode != "F" else im.convert("RGB")
    return im.convert("RGB")


def _encode_thumbnail(im: Image.Image, icc: object, size: tuple[int, int]) -> Rendition:
    out = io.BytesIO()
    # A fresh info dict: resize() copies the source's info, and the JPEG writer would carry its comment along.
    im.info = {}
    extra = {"icc_profile": icc} if isinstance(icc, bytes) else {}
    if im.mode == "RGBA":
        im.save(out, "WEBP", quality=_THUMB_WEBP_QUALITY, method=4, **extra)
        content_type, extension = "image/webp", "webp"
    else:
        im.save(out, "JPEG", quality=_THUMB_JPEG_QUALITY, **extra)
        content_type, extension = "image/jpeg", "jpg"
    assert im.size == size, (im.size, size)
    return Rendition(out.getvalue(), content_type, extension, size[0], size[1])


# --- JPEG structure ------------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_RST = range(0xD0, 0xD8)
# Markers that may legally end an entropy-coded scan (what comes next in a baseline or progressive file).
_SEGMENT_MARKERS: Final = frozenset(
    {*range(0xC0, 0xC8), *range(0xC9, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, *range(0xE0, 0xF0), 0xFE}
)
# Inside a scan: a run of 0xFF fill bytes, then a marker byte (0x00 is byte stuffing, not a marker).
_SCAN_MARKER: Final = re.compile(rb"\xff+([^\x00\xff])")


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


def _jpeg_header_segments(data: bytes) -> _JpegLayout:
    """Walk the JPEG marker structure, scans included, without decoding; raise on damage.

    libjpeg recovers from damaged entropy data with a warning ("Corrupt JPEG data: N extraneous bytes before
    marker") that Pillow silences, so a file with an overwritten or spliced region would otherwise pass a real
    decode. Here such a file is refused: a marker that cannot follow a scan (a second SOI, a reserved marker)
    or restart markers out of sequence mean CORRUPT; data that ends inside the headers means TRUNCATED.
    """
    n = len(data)
    pos = 2  # past SOI (sniff checked it)
    header: list[_Segment] = []
    body_start = -1
    while True:
        if pos >= n:
            raise InvalidImage(RejectReason.TRUNCATED, "The JPEG file is truncated.")
        if data[pos] != 0xFF:
            raise InvalidImage(RejectReason.CORRUPT, f"The JPEG structure is damaged at byte {pos}.")
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
            if body_start < 0:
                header.append(_Segment(marker, start, pos))
            continue
        if body_start < 0:
            body_start = start
        pos = _skip_scan(data, pos)
        if pos >= n:
            # No EOI after the last scan: leave it to the decoder, which raises if pixels are really missing.
            return _JpegLayout(header, body_start, n)


def _skip_scan(data: bytes, pos: int) -> int:
    """Skip entropy-coded data, checking the RST0..7 sequence; return the offset of the marker ending it."""
    expected = 0
    for match in _SCAN_MARKER.finditer(data, pos):
        marker = match.group(1)[0]
        if marker in _RST:
            if marker - 0xD0 != expected:
                raise InvalidImage(
                    RejectReason.CORRUPT, f"JPEG restart markers are out of sequence at byte {match.start()}."
                )
            expected = (expected + 1) % 8
            continue
        return match.start()
    return len(data)


# --- served copy: location metadata removed ---------------------------------------------------------


def _served_bytes(data: bytes, fmt: str, jpeg: _JpegLayout | None) -> bytes:
    if jpeg is not None:
        return _served_jpeg(data, jpeg)
    if fmt == "PNG":
        return _served_png(data)
    if fmt == "WEBP":
        return _served_webp(data)
    if fmt == "GIF":
        return _served_gif(data)
    return _served_reencoded(data, fmt)


_APP0, _APP1, _APP2, _APP13, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xED, 0xEE, 0xFE
_APP_MARKERS: Final = range(0xE0, 0xF0)
_EXIF_HEADER: Final = b"Exif\x00\x00"


def _served_jpeg(data: bytes, layout: _JpegLayout) -> bytes:
    parts: list[bytes] = [data[:2]]  # SOI
    changed = layout.end != len(data)  # trailing data (MPO images, vendor trailers) is dropped
    for seg in layout.header:
        raw = data[seg.start : seg.end]
        payload = raw[4:]
        if seg.marker == _APP1 and payload.startswith(_EXIF_HEADER):
            kept = _exif_without_gps(payload)
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


def _exif_without_gps(payload: bytes) -> bytes:
    """The Exif APP1 payload with the GPS IFD removed; ``b""`` to drop the segment; ``payload`` if no GPS."""
    exif = Image.Exif()
    try:
        exif.load(payload)
        if _TAG_GPS_IFD not in exif:
            return payload  # verbatim: keeps maker notes and the embedded thumbnail exactly as they were
        del exif[_TAG_GPS_IFD]
        rewritten = exif.tobytes()
    except Exception:  # EXIF Pillow cannot round-trip: keep only what we can be sure of, the orientation
        return _minimal_exif(payload)
    # A JPEG segment holds at most 65533 payload bytes.
    return rewritten if len(rewritten) <= 0xFFFF - 2 else _minimal_exif(payload)


def _minimal_exif(payload: bytes) -> bytes:
    """Just the orientation (so viewers still show the photo upright), or nothing at all."""
    try:
        original = Image.Exif()
        original.load(payload)
        orientation = original.get(_TAG_ORIENTATION)
    except Exception:  # nothing readable to keep: drop the Exif segment, and with it any GPS
        return b""
    if not isinstance(orientation, int) or orientation == 1:
        return b""
    minimal = Image.Exif()
    minimal[_TAG_ORIENTATION] = orientation
    return minimal.tobytes()


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Text keywords that carry XMP (which may hold GPS) or raw EXIF/IPTC profiles (ImageMagick's convention).
_PNG_METADATA_KEYWORDS: Final = (b"XML:com.adobe.xmp", b"Raw profile type")


def _served_png(data: bytes) -> bytes:
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


_VP8X_EXIF_FLAG: Final = 0x08
_VP8X_XMP_FLAG: Final = 0x04


def _served_webp(data: bytes) -> bytes:
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


def _served_gif(data: bytes) -> bytes:
    """Drop XMP application extensions; the decode already proved the first frame's structure."""
    xmp = data.find(b"\x21\xff\x0bXMP DataXMP")
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
        xmp = data.find(b"\x21\xff\x0bXMP DataXMP", copied)
    parts.append(data[copied:])
    return b"".join(parts)


def _served_reencoded(data: bytes, fmt: str) -> bytes:
    """AVIF: no lossless route in Pillow, so re-encode only when there is metadata to remove."""
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        if not im.info.get("exif") and not im.info.get("xmp"):
            return data
        out = io.BytesIO()
        im.info = {k: v for k, v in im.info.items() if k not in ("exif", "xmp")}
        im.save(out, fmt, quality=90, icc_profile=im.info.get("icc_profile"))
        return out.getvalue()
