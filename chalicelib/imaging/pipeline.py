"""The pipeline: sniff -> bound -> structure -> decode -> orient -> thumbnails -> served copy.

Checks, in order (the cheap ones first, so a hostile file costs as little as possible):

1. empty -> ``EMPTY_FILE``; more than ``max_bytes`` -> ``TOO_LARGE``;
2. magic bytes (:func:`~chalicelib.imaging.sniff.sniff`) say it is not an image -> ``NOT_AN_IMAGE``; an image
   format this build does not accept (the catalog's; HEIC, BMP, TIFF, ...) -> ``UNSUPPORTED_FORMAT``. The
   filename and the claimed content type are never looked at;
3. the container's scrubber ``prepare`` (JPEG: a walk of the marker structure, no pixel decode) -> ``CORRUPT`` /
   ``TRUNCATED``;
4. header parse (``Image.open`` reads no pixels) -> width x height above ``max_pixels`` -> ``TOO_MANY_PIXELS``;
5. a full real decode (``load()``) -> ``TRUNCATED`` / ``CORRUPT``. ``LOAD_TRUNCATED_IMAGES`` is never set.

That one decode is at reduced scale for a large JPEG (``draft()``) and also feeds the thumbnail cascade
(``thumbnails.py``). Animated GIF/WebP: the first frame. Then the scrubber makes the served copy (the original
pixels without location metadata; ``served.data`` is the uploaded bytes themselves when nothing needed
removing). Pillow's exceptions are translated here (``raise ... from exc``) and never escape.
"""

from __future__ import annotations

import hashlib
import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from PIL import Image, UnidentifiedImageError

from chalicelib import catalog
from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import thumbnails as thumbs
from chalicelib.imaging.results import ProcessedImage, Rendition
from chalicelib.imaging.scrubbers import SCRUBBERS
from chalicelib.imaging.sniff import SNIFF_BYTES, sniff


def process(
    data: bytes, *, max_bytes: int, max_pixels: int, sizes: tuple[int, ...] = catalog.THUMBNAIL_SIZES
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
    allowed_formats = catalog.accepted_format_names()
    if fmt not in allowed_formats:
        allowed = ", ".join(sorted(allowed_formats))
        raise InvalidImage(RejectReason.UNSUPPORTED_FORMAT, f"{fmt} images are not supported; use {allowed}.")

    scrub = SCRUBBERS[fmt](data)
    with _pillow_errors():
        with _open(data, fmt) as im:
            _check_pixels(im.size, max_pixels)
            stored_size = im.size  # before draft() shrinks it
            _decode(im, fmt, max(sizes))
            # Only after load(): PNG's getexif() would otherwise load the pixels itself, and a decode error
            # must not be mistaken for unreadable EXIF.
            orientation = thumbs.orientation(im)
            width, height = thumbs.upright(stored_size, orientation)
            entry = catalog.format_named(fmt)
            display = thumbs.display(im, orientation, catalog.DISPLAY_LONGEST_SIDE) if entry.display_rendition else None
            thumbnails = thumbs.thumbnails(im, stored_size, orientation, (width, height), sizes)
        served_bytes = scrub()

    return ProcessedImage(
        format=fmt,
        content_type=entry.mime_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        served=Rendition(served_bytes, entry.mime_type, entry.extension, width, height),
        thumbnails=thumbnails,
        display=display,
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


def _decode(im: Image.Image, fmt: str, largest: int) -> None:
    """The one full, real decode (raises on truncated or damaged data), at reduced scale for a large JPEG."""
    target = thumbs.fit(im.size, largest)
    if fmt == "JPEG" and target != im.size:
        # libjpeg scales in the DCT domain to the smallest 1/2, 1/4 or 1/8 that is still >= the largest
        # thumbnail: a 24 MP photo decodes into ~1.5 MP instead of 24 MP (time and, on Lambda, memory). Every
        # block is still entropy-decoded, so truncation is still caught. The longest side does not change
        # under rotation, so the stored size serves for any orientation.
        im.draft(None, target)
    im.load()
