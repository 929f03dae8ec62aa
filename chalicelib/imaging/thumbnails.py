"""Orientation and thumbnails: upright, longest side = each size, never upscaled, made as a cascade.

For a large JPEG the one decode uses ``draft()`` so libjpeg scales by 1/2, 1/4 or 1/8 in the DCT domain, then a
cascade (600 from the decoded image, 300 from the 600, 150 from the 300). Opaque thumbnails are JPEG (RGB,
quality 85); images with transparency give WebP to keep alpha (the encodings are the catalog's). Thumbnails
carry no EXIF/XMP (the ICC profile is kept so colours stay right).
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image

from chalicelib import catalog
from chalicelib.imaging.exif import TAG_ORIENTATION
from chalicelib.imaging.results import Rendition

_THUMB_QUALITY: Final[dict[str, int]] = {"JPEG": 85, "WEBP": 85}
_DISPLAY_QUALITY: Final = 85
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


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1..8), or 1 when absent, nonsensical or unreadable."""
    try:
        value = im.getexif().get(TAG_ORIENTATION, 1)
    except Exception:  # damaged EXIF must not cost the user their upload: treat the image as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_transpose(orientation: int) -> Image.Transpose | None:
    """The transpose that makes an image with this EXIF orientation upright; None when it already is."""
    return _ORIENTATION_FIX.get(orientation)


def upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    # Orientations 5..8 swap the axes (a transpose, possibly with a flip or a rotation).
    return (size[1], size[0]) if orientation >= 5 else size


def fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so its longest side is ``longest``; never upscaled; never below 1x1."""
    w, h = size
    if max(w, h) <= longest:
        return size
    if w >= h:
        return longest, max(1, round(h * longest / w))
    return max(1, round(w * longest / h)), longest


def thumbnails(
    im: Image.Image,
    stored_size: tuple[int, int],
    orientation: int,
    upright_size: tuple[int, int],
    sizes: tuple[int, ...],
) -> dict[int, Rendition]:
    return thumbnail_set(im, stored_size, orientation, upright_size, sizes, ())[0]


def thumbnail_set(
    im: Image.Image,
    stored_size: tuple[int, int],
    orientation: int,
    upright_size: tuple[int, int],
    sizes: tuple[int, ...],
    companions: tuple[catalog.Companion, ...],
) -> tuple[dict[int, Rendition], dict[int, dict[str, Rendition]]]:
    """The thumbnails by size, and each one's companion encodings by extension (same pixels, other formats)."""
    ordered = sorted(set(sizes), reverse=True)
    icc = im.info.get("icc_profile")
    src = _thumbnail_mode(im)

    thumbs: dict[int, Rendition] = {}
    others: dict[int, dict[str, Rendition]] = {}
    current = src
    for size in ordered:
        # Targets come from the original size, not the previous step, so rounding does not drift.
        target = fit(stored_size, size)
        step = (
            current
            if current.size == target
            else current.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        )
        current = step  # the cascade: the next (smaller) size is made from this one
        upright_step = step.transpose(_ORIENTATION_FIX[orientation]) if orientation in _ORIENTATION_FIX else step
        thumbs[size] = _encode(upright_step, icc, fit(upright_size, size))
        others[size] = _companions(upright_step, icc, thumbs[size], companions)
    return {size: thumbs[size] for size in sizes}, {size: others[size] for size in sizes}


def _companions(
    im: Image.Image, icc: object, thumbnail: Rendition, companions: tuple[catalog.Companion, ...]
) -> dict[str, Rendition]:
    """``im`` (the thumbnail's pixels) in each companion format the thumbnail is not already in."""
    extra = {"icc_profile": icc} if isinstance(icc, bytes) else {}
    made: dict[str, Rendition] = {}
    for companion in companions:
        fmt = companion.format
        if fmt.extension == thumbnail.extension:
            continue
        out = io.BytesIO()
        im.save(out, fmt.name, **dict(companion.encoder_options), **extra)
        made[fmt.extension] = Rendition(out.getvalue(), fmt.mime_type, fmt.extension, im.width, im.height)
    return made


def display(im: Image.Image, orientation: int, longest: int) -> Rendition:
    """The display rendition: upright, longest side <= ``longest``, JPEG or (when smaller, or for alpha) WebP.

    Made from the full decode before the thumbnail cascade (which may reuse ``im`` itself), ICC profile kept.
    """
    icc = im.info.get("icc_profile")
    src = _thumbnail_mode(im)
    target = fit(src.size, longest)
    step = src if src.size == target else src.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    upright_step = step.transpose(_ORIENTATION_FIX[orientation]) if orientation in _ORIENTATION_FIX else step
    if upright_step is src:
        upright_step = src.copy()
    extra = {"icc_profile": icc} if isinstance(icc, bytes) else {}
    upright_step.info = {}
    candidates: list[tuple[bytes, catalog.Format]] = []
    webp = catalog.format_named("WEBP")
    out = io.BytesIO()
    upright_step.save(out, webp.name, quality=_DISPLAY_QUALITY, method=4, **extra)
    candidates.append((out.getvalue(), webp))
    if upright_step.mode != "RGBA":
        jpeg = catalog.format_named("JPEG")
        out = io.BytesIO()
        upright_step.save(out, jpeg.name, quality=_DISPLAY_QUALITY, optimize=True, **extra)
        candidates.append((out.getvalue(), jpeg))
    data, fmt = min(candidates, key=lambda c: len(c[0]))
    return Rendition(data, fmt.mime_type, fmt.extension, upright_step.width, upright_step.height)


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


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


def _encode(im: Image.Image, icc: object, size: tuple[int, int]) -> Rendition:
    out = io.BytesIO()
    # A fresh info dict: resize() copies the source's info, and the JPEG writer would carry its comment along.
    im.info = {}
    extra = {"icc_profile": icc} if isinstance(icc, bytes) else {}
    if im.mode == "RGBA":
        fmt = catalog.format_named(catalog.THUMBNAIL_ALPHA_FORMAT)
        im.save(out, fmt.name, quality=_THUMB_QUALITY[fmt.name], method=4, **extra)
    else:
        fmt = catalog.format_named(catalog.THUMBNAIL_OPAQUE_FORMAT)
        im.save(out, fmt.name, quality=_THUMB_QUALITY[fmt.name], **extra)
    assert im.size == size, (im.size, size)
    return Rendition(out.getvalue(), fmt.mime_type, fmt.extension, size[0], size[1])
