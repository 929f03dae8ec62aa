"""Fingerprints of an image's pixels: a perceptual hash (near-duplicates) and a BlurHash (the loading placeholder).

The stored perceptual hash is the dHash: on the real fixtures it told cropped copies from different photos better
than the pHash (docs/benchmarks.md, ``scripts/bench/near_duplicates.py``), and it costs less. Both are here,
written to agree with ``imagehash`` bit for bit.

Both are made from the pipeline's one decode, upright (EXIF orientation applied, so a rotated copy hashes like
what people see), through one small intermediate: the decoded image reduced to at most
:data:`INTERMEDIATE_SIDE` pixels on its longest side (Pillow's box reduction then LANCZOS, ``reducing_gap``), so
the cost does not grow with the photo's size.

- :func:`dhash`: the difference hash as ``imagehash.dhash`` computes it (grayscale, 9x8 LANCZOS, is each pixel
  brighter than its left neighbour; 64 bits as 16 hex digits, row-major, most significant first);
- :func:`phash`: the DCT perceptual hash as ``imagehash.phash`` computes it (grayscale, 32x32 LANCZOS, 2-D DCT-II,
  the 8x8 lowest frequencies compared with their median; 64 bits as 16 hex digits, row-major, most significant
  first), measured against the dHash and kept for that comparison;
- :func:`blurhash`: Wolt's BlurHash of the upright image at most :data:`BLURHASH_SIDE` pixels on its longest
  side, 4x3 components (3x4 for a portrait), encoded by the ``blurhash`` package (pure Python).

The two hashes are written out in pure Python so the Lambda package does not carry numpy + scipy + PyWavelets
(docs/adr/0014-perceptual-hash-and-placeholders.md); tests/unit/test_fingerprints.py checks them bit for bit
against ``imagehash`` on the real fixtures. Comparing hashes (the Hamming distance) belongs to
``chalicelib/services/similar.py``, which the API imports without loading Pillow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import median
from typing import Final

import blurhash as _blurhash
from PIL import Image

from chalicelib.imaging.thumbnails import fit

HASH_SIDE: Final = 8  # 8x8 low frequencies -> 64 bits
DCT_SIDE: Final = 32  # imagehash's hash_size * highfreq_factor (8 * 4)
PHASH_HEX_CHARS: Final = HASH_SIDE * HASH_SIDE // 4
INTERMEDIATE_SIDE: Final = 128
BLURHASH_SIDE: Final = 20  # 4x3 components need few pixels; the encoder costs ~13 us per pixel
BLURHASH_COMPONENTS: Final = (4, 3)  # (x, y) for a landscape or square image; swapped for a portrait
_REDUCING_GAP: Final = 2.0
_RESIZABLE: Final = frozenset({"RGB", "RGBA", "L", "LA"})


@dataclass(frozen=True)
class Fingerprints:
    dhash: str  # 16 hex digits
    blurhash: str


def fingerprints(im: Image.Image, transpose: Image.Transpose | None) -> Fingerprints:
    """Both fingerprints of the decoded image ``im``; ``transpose`` makes it upright (None: it already is)."""
    small = im if im.mode in _RESIZABLE else _rgb(im)  # convert after the reduction where Pillow can
    target = fit(small.size, INTERMEDIATE_SIDE)
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    small = _rgb(small)
    if transpose is not None:
        small = small.transpose(transpose)
    return Fingerprints(dhash=dhash(small), blurhash=blurhash(small))


def phash(im: Image.Image) -> str:
    """``str(imagehash.phash(im))``: 16 hex digits."""
    gray = im.convert("L").resize((DCT_SIDE, DCT_SIDE), Image.Resampling.LANCZOS)
    pixels = list(gray.getdata())
    rows = [pixels[y * DCT_SIDE : (y + 1) * DCT_SIDE] for y in range(DCT_SIDE)]
    table = _dct_table()
    # A separable 2-D DCT-II (scipy.fftpack's unnormalised one), computing only the low frequencies we keep:
    # along each column (axis 0) first, then along each row of that (axis 1), as imagehash does.
    by_column = [
        [sum(c * rows[y][x] for y, c in enumerate(table[u])) for x in range(DCT_SIDE)] for u in range(HASH_SIDE)
    ]
    low = [sum(c * by_column[u][x] for x, c in enumerate(table[v])) for u in range(HASH_SIDE) for v in range(HASH_SIDE)]
    middle = median(low)
    bits = 0
    for value in low:
        bits = (bits << 1) | (value > middle)
    return f"{bits:0{PHASH_HEX_CHARS}x}"


def dhash(im: Image.Image) -> str:
    """``str(imagehash.dhash(im))``: is each pixel of a 9x8 grayscale brighter than its left neighbour."""
    gray = im.convert("L").resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.LANCZOS)
    pixels = list(gray.getdata())
    bits = 0
    for y in range(HASH_SIDE):
        row = pixels[y * (HASH_SIDE + 1) : (y + 1) * (HASH_SIDE + 1)]
        for x in range(HASH_SIDE):
            bits = (bits << 1) | (row[x + 1] > row[x])
    return f"{bits:0{PHASH_HEX_CHARS}x}"


def blurhash(im: Image.Image) -> str:
    """The BlurHash of ``im`` (RGB; at most :data:`BLURHASH_SIDE` pixels are read on its longest side)."""
    small = _rgb(im)
    target = fit(small.size, BLURHASH_SIDE)
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    x, y = BLURHASH_COMPONENTS if small.width >= small.height else BLURHASH_COMPONENTS[::-1]
    data = list(small.getdata())
    pixels = [data[row * small.width : (row + 1) * small.width] for row in range(small.height)]
    return str(_blurhash.encode(pixels, components_x=x, components_y=y))


@cache
def _dct_table() -> tuple[tuple[float, ...], ...]:
    """DCT-II basis rows for the low frequencies: ``2 cos(pi k (2n + 1) / 2N)`` (scipy.fftpack, norm=None)."""
    n = DCT_SIDE
    return tuple(tuple(2.0 * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i in range(n)) for k in range(HASH_SIDE))


def _rgb(im: Image.Image) -> Image.Image:
    """RGB for every mode a decoder may hand over (a failure here must never refuse a good image)."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I;16"):
        im = im.convert("I")  # big- and little-endian alike; point() takes only I
    if im.mode == "I":
        return im.point(lambda v: v / 256).convert("L").convert("RGB")  # 16-bit: scale, do not clip
    if im.mode in ("La", "RGBa"):  # premultiplied alpha: Pillow converts these only to their plain forms
        im = im.convert("LA" if im.mode == "La" else "RGBA")
    return im.convert("RGB")


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= longest:
        return size
    if w >= h:
        return longest, max(1, round(h * longest / w))
    return max(1, round(w * longest / h)), longest
