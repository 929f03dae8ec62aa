"""The pipeline: sniff -> bound -> structure -> decode -> orient -> thumbnails -> served copy.

Checks, in order (the cheap ones first, so a hostile file costs as little as possible):

1. empty -> ``EMPTY_FILE``; more than ``max_bytes`` -> ``TOO_LARGE``;
2. magic bytes (:func:`~chalicelib.imaging.sniff.sniff`) say it is not an image -> ``NOT_AN_IMAGE``; an image
   format this build does not accept (the catalog's; HEIC, BMP, TIFF, ...) -> ``UNSUPPORTED_FORMAT``. The
   filename and the claimed content type are never looked at;
3. the container's scrubber ``prepare``, a walk of the structure with no pixel decode (JPEG markers and scans,
   PNG chunks, GIF blocks, WebP chunks) -> ``CORRUPT`` / ``TRUNCATED``; more scans, frames, chunks or segments
   than ``bounds.py`` allows -> ``TOO_COMPLEX``;
4. header parse (``Image.open`` reads no pixels) -> width x height above ``max_pixels`` -> ``TOO_MANY_PIXELS``;
5. a full real decode (``load()``) -> ``TRUNCATED`` / ``CORRUPT``, under a deadline -> ``TOO_COMPLEX``.
   ``LOAD_TRUNCATED_IMAGES`` is never set.

That one decode is at reduced scale for a large JPEG (``draft()``) and also feeds the thumbnail cascade
(``thumbnails.py``) and the fingerprints (``fingerprints.py``: perceptual hash, BlurHash). Animated GIF/WebP: the
first frame. Then the scrubber makes the served copy (the original pixels without location metadata;
``served.data`` is the uploaded bytes themselves when nothing needed removing). ``sha256`` is the served file's
hash (published; it cannot confirm a location-bearing original), ``original_sha256`` the upload's. Pillow's
exceptions are translated here (``raise ... from exc``) and never escape.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, cast

from PIL import Image, UnidentifiedImageError

from chalicelib import catalog
from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import bounds, fingerprints
from chalicelib.imaging import thumbnails as thumbs
from chalicelib.imaging.results import ProcessedImage, Rendition
from chalicelib.imaging.scrubbers import SCRUBBERS
from chalicelib.imaging.sniff import SNIFF_BYTES, sniff


def process(
    data: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    sizes: tuple[int, ...] = catalog.THUMBNAIL_SIZES,
    deadline: float | None = None,
    companions: tuple[catalog.Companion, ...] | None = None,
) -> ProcessedImage:
    """Validate ``data`` by content and make the served copy and the thumbnails. Raises ``InvalidImage``.

    ``deadline`` (a ``time.monotonic()`` value; default: :data:`~chalicelib.imaging.bounds.DECODE_SECONDS`
    from now) bounds the decode: past it the file is refused as ``TOO_COMPLEX``. ``companions``: the other
    encodings of every thumbnail (default: the catalog's, those this build can write; ``()`` for none).
    """
    if companions is None:
        companions = catalog.thumbnail_companions()
    if deadline is None:
        deadline = time.monotonic() + bounds.DECODE_SECONDS
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

    scrub = SCRUBBERS[fmt](data)  # the structure walk: damage and the bounds on scans, frames and chunks
    with _pillow_errors():
        with _open(data, fmt, deadline) as im:
            _check_pixels(im.size, max_pixels)
            if fmt in ("AVIF", "HEIF"):  # image sequences: libavif / libheif count the frames from the header
                bounds.check_frames(getattr(im, "n_frames", 1), im.size)
            # The served copy and the hashes are made beside the decode: libjpeg, Pillow's resampling and
            # hashlib release the GIL, so on two CPUs the two halves overlap (on one, nothing is lost).
            served = _Beside(lambda: _served_copy(data, scrub))
            try:
                stored_size = im.size  # before draft() shrinks it
                _decode(im, fmt, max(sizes))
                # Only after load(): PNG's getexif() would otherwise load the pixels itself, and a decode
                # error must not be mistaken for unreadable EXIF.
                orientation = thumbs.orientation(im)
                width, height = thumbs.upright(stored_size, orientation)
                marks = fingerprints.fingerprints(im, thumbs.upright_transpose(orientation))
                entry = catalog.format_named(fmt)
                display = (
                    thumbs.display(im, orientation, catalog.DISPLAY_LONGEST_SIDE) if entry.display_rendition else None
                )
                thumbnails, companion_renditions = thumbs.thumbnail_set(
                    im, stored_size, orientation, (width, height), sizes, companions
                )
            finally:
                served.wait()  # a refused file leaves no work running behind it
        # The decode has proved the pixels; only now does a scrubber's own error count.
        served_bytes, served_sha256, original_sha256 = served.result()

    return ProcessedImage(
        format=fmt,
        content_type=entry.mime_type,
        width=width,
        height=height,
        # The published hash is the served file's: the upload's own hash would let anyone holding a
        # location-bearing original confirm that it is this image.
        sha256=served_sha256,
        original_sha256=original_sha256,
        dhash=marks.dhash,
        blurhash=marks.blurhash,
        served=Rendition(served_bytes, entry.mime_type, entry.extension, width, height),
        thumbnails=thumbnails,
        display=display,
        companions=companion_renditions,
    )


def _served_copy(data: bytes, scrub: Callable[[], bytes]) -> tuple[bytes, str, str]:
    served = scrub()
    served_sha256 = hashlib.sha256(served).hexdigest()
    return served, served_sha256, served_sha256 if served is data else hashlib.sha256(data).hexdigest()


class _Beside[T]:
    """Run ``fn`` in a thread beside the caller; :meth:`result` returns its value or raises its exception here."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="imaging-served-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)


# Python < 3.14 keeps warning filters in process-global state, so catch_warnings() is not thread-safe; the
# lock keeps our own callers (a threaded dev server) from restoring each other's filters.
_WARNINGS_LOCK: Final = threading.Lock()


def _open(data: bytes, fmt: str, deadline: float) -> Image.Image:
    """Parse the header only (no pixels) with the one plugin the magic bytes named; reads stop at ``deadline``."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        # Our max_pixels bound (checked right after) is the one that counts; Pillow's global MAX_IMAGE_PIXELS
        # warning would only leak to stderr (or, under `-W error`, refuse files our bound allows). Pillow
        # still *raises* DecompressionBombError past 2x its limit, which we translate to TOO_MANY_PIXELS.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(bounds.DeadlineReader(data, deadline), formats=[fmt])


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
