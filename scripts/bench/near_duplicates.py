"""Near-duplicate threshold: false-positive and false-negative rates per Hamming distance on the real photos.

    .venv/bin/python -m scripts.bench.near_duplicates [--max 20]

Positives: each distinct photo in tests/fixtures against copies of itself made as people make them: resized
(longest side 1600, 800, 400, 200), recompressed as JPEG (quality 90, 70, 50, 30), cropped 2, 5 and 10% (off the
left and top), re-saved as PNG and as WebP, and (landscape_1) the same scene stored with EXIF orientations 2..8.
Negatives: every pair of different photos, and every pair of their copies (a copy of A against a copy of B).
Each file goes through the real pipeline (``chalicelib.imaging.process``: the dHash the product stores, made
from its small upright intermediate); pHash and dHash of the upright full image (``imagehash``'s, which
``chalicelib.imaging.fingerprints`` reproduces) are printed beside it: the measurement behind the choice.
The chosen threshold is ``chalicelib.services.similar.SIMILAR_DISTANCE``; results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from chalicelib.errors import InvalidImage
from chalicelib.imaging import fingerprints, process
from chalicelib.services.similar import SIMILAR_DISTANCE, distance

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
# Distinct photos (landscape_2..8 are landscape_1's scene with other EXIF orientations: positives, not photos).
PHOTOS = (
    "BlueSquare.jpg",
    "Canon_40D.jpg",
    "DSCN0010.jpg",
    "IMG_5195.HEIC",
    "iphone_hdr_YES.jpg",
    "jolla.jpg",
    "landscape_1.jpg",
)
SIZES = (1600, 800, 400, 200)
QUALITIES = (90, 70, 50, 30)
CROPS = (0.02, 0.05, 0.10)


@dataclass(frozen=True)
class Hashed:
    photo: str
    variant: str
    stored: str  # the dHash the pipeline stores (from its small upright intermediate)
    phash: str  # imagehash.phash's, of the upright full image
    dhash: str  # imagehash.dhash's, likewise


def upright(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return ImageOps.exif_transpose(im).convert("RGB")


def encode(im: Image.Image, fmt: str, **options: int) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def variants(name: str, data: bytes) -> dict[str, bytes]:
    """The copies of one photo (the original first); what people make of a photo they pass around."""
    im = upright(data)
    made = {"original": data}
    for side in SIZES:
        if max(im.size) > side:
            small = im.copy()
            small.thumbnail((side, side), Image.Resampling.LANCZOS)
            made[f"resized-{side}"] = encode(small, "JPEG", quality=85)
    for quality in QUALITIES:
        made[f"jpeg-q{quality}"] = encode(im, "JPEG", quality=quality)
    for crop in CROPS:
        w, h = im.size
        made[f"crop-{round(crop * 100)}%"] = encode(
            im.crop((round(w * crop), round(h * crop), w, h)), "JPEG", quality=90
        )
    made["png"] = encode(im, "PNG")
    made["webp"] = encode(im, "WEBP", quality=80)
    if name == "landscape_1.jpg":
        for n in range(2, 9):
            made[f"exif-orientation-{n}"] = (FIXTURES / f"landscape_{n}.jpg").read_bytes()
    return made


def hash_all() -> list[Hashed]:
    hashed = []
    for name in PHOTOS:
        for variant, data in variants(name, (FIXTURES / name).read_bytes()).items():
            try:
                processed = process(data, max_bytes=50 * 1024 * 1024, max_pixels=100_000_000)
            except InvalidImage as exc:
                raise SystemExit(f"{name} {variant}: {exc}") from exc
            full = upright(data)
            hashed.append(Hashed(name, variant, processed.dhash, fingerprints.phash(full), fingerprints.dhash(full)))
    return hashed


def rates(hashed: list[Hashed], kind: str, top: int) -> list[tuple[int, float, float, int, int, int, int]]:
    def d(a: Hashed, b: Hashed) -> int:
        return distance(getattr(a, kind), getattr(b, kind))

    originals = {h.photo: h for h in hashed if h.variant == "original"}
    positives = [d(originals[h.photo], h) for h in hashed if h.variant != "original"]
    negatives = [d(a, b) for a, b in itertools.combinations(hashed, 2) if a.photo != b.photo]
    rows = []
    for t in range(top + 1):
        fn = sum(x > t for x in positives)
        fp = sum(x <= t for x in negatives)
        rows.append((t, fp / len(negatives), fn / len(positives), fp, len(negatives), fn, len(positives)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=20, help="largest threshold printed")
    args = parser.parse_args()
    hashed = hash_all()
    originals = {h.photo: h for h in hashed if h.variant == "original"}
    print("Positives, distance to the original (stored dHash / full-image pHash / full-image dHash):")
    for h in hashed:
        if h.variant != "original":
            o = originals[h.photo]
            d = [distance(getattr(o, k), getattr(h, k)) for k in ("stored", "phash", "dhash")]
            print(f"  {h.photo:20} {h.variant:22} {d[0]:3d} / {d[1]:3d} / {d[2]:3d}")
    for kind in ("stored", "phash", "dhash"):
        negatives = sorted(
            distance(getattr(a, kind), getattr(b, kind))
            for a, b in itertools.combinations(hashed, 2)
            if a.photo != b.photo
        )
        print(f"Nearest different photos ({kind}): {negatives[:5]}")
    print()
    print(
        "| threshold | stored dHash: false positives | false negatives | pHash: false positives | false negatives "
        "| dHash (full image): false positives | false negatives |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    table = zip(*(rates(hashed, kind, args.max) for kind in ("stored", "phash", "dhash")), strict=True)
    for row in table:
        mark = " **(chosen)**" if row[0][0] == SIMILAR_DISTANCE else ""
        cells = " | ".join(f"{r[1]:.2%} ({r[3]}/{r[4]}) | {r[2]:.2%} ({r[5]}/{r[6]})" for r in row)
        print(f"| {row[0][0]}{mark} | {cells} |")


if __name__ == "__main__":
    main()
