"""Benchmark: companion thumbnail encodings (WebP, AVIF) against the JPEG thumbnail, per size, on real photos.

    .venv/bin/python scripts/bench/companions.py              # print the table
    .venv/bin/python scripts/bench/companions.py --repeat 7   # more passes (median)

What the processor would add per upload if every thumbnail size (600/300/150) also got a WebP and an AVIF copy
(issue 10's "formats for viewers"), and what it buys in bytes. Each input is decoded once and made into its three
upright RGB thumbnails (Pillow, the cascade the pipeline uses); then, interleaved pass by pass, each size is
encoded by each candidate and timed. The baseline is the JPEG thumbnail the pipeline already writes (quality 85);
ratios are against it, in this same process. CPU time (``process_time``: all threads) is reported beside wall
time because libavif may use several threads and Lambda bills the wall clock while issue 13 counts the CPU.

Candidates: the settings ``chalicelib/imaging/thumbnails.py`` uses for the companions (from the catalog), plus
AVIF at other encoder speeds, for the decision recorded in docs/benchmarks.md. Always exits 0.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import PIL  # noqa: E402
from PIL import Image, ImageChops, ImageStat, features  # noqa: E402

from chalicelib import catalog  # noqa: E402
from chalicelib.imaging import thumbnails as thumbs  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
# Real camera files of different content and sizes (tests/fixtures/ATTRIBUTION.md).
INPUTS = ("jolla.jpg", "iphone_hdr_YES.jpg", "Canon_40D.jpg", "DSCN0010.jpg", "landscape_1.jpg")
SIZES = tuple(sorted(catalog.THUMBNAIL_SIZES, reverse=True))

Encoder = Callable[[Image.Image], bytes]


def _saver(fmt: str, **options: object) -> Encoder:
    def encode(im: Image.Image) -> bytes:
        out = io.BytesIO()
        im.save(out, fmt, **options)
        return out.getvalue()

    return encode


def candidates() -> dict[str, Encoder]:
    found: dict[str, Encoder] = {"jpeg q85 (baseline)": _saver("JPEG", quality=85)}
    for companion in catalog.THUMBNAIL_COMPANIONS:
        found[f"{companion.format_name.lower()} (as shipped)"] = _saver(
            companion.format_name, **dict(companion.encoder_options)
        )
    found["webp q80 method 4 (Pillow's default method)"] = _saver("WEBP", quality=80, method=4)
    if features.check("avif"):
        for speed in (6, 8):
            found[f"avif q60 speed {speed}"] = _saver("AVIF", quality=60, speed=speed)
        # What shipped before the companion took one encoder thread (libavif's default: one per CPU).
        found["avif q60 speed 10, default threads"] = _saver("AVIF", quality=60, speed=10)
        found["avif q70 speed 10"] = _saver("AVIF", quality=70, speed=10)
        found["avif q75 speed 10"] = _saver("AVIF", quality=75, speed=10)
    return found


@dataclass
class Cell:
    wall_ms: list[float]
    cpu_ms: list[float]
    size: int = 0
    psnr: float = 0.0


def psnr(source: Image.Image, data: bytes) -> float:
    """Peak signal-to-noise ratio (dB) of the decoded encoding against the thumbnail's pixels: higher is closer."""
    with Image.open(io.BytesIO(data)) as decoded:
        diff = ImageChops.difference(source, decoded.convert("RGB"))
    mse = sum(ImageStat.Stat(diff).sum2) / (3 * source.width * source.height)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def thumbnails_of(path: Path) -> dict[int, Image.Image]:
    with Image.open(path) as im:
        stored = im.size
        im.draft("RGB", thumbs.fit(stored, max(SIZES)))
        im.load()
        orientation = thumbs.orientation(im)
        rgb = im.convert("RGB")
    made: dict[int, Image.Image] = {}
    current = rgb
    for size in SIZES:
        target = thumbs.fit(stored, size)
        current = current if current.size == target else current.resize(target, Image.Resampling.LANCZOS)
        fix = thumbs._ORIENTATION_FIX.get(orientation)
        made[size] = current.transpose(fix) if fix is not None else current.copy()
    return made


def run(repeat: int) -> dict[tuple[str, str, int], Cell]:
    encoders = candidates()
    cells: dict[tuple[str, str, int], Cell] = {}
    images = {name: thumbnails_of(FIXTURES / name) for name in INPUTS}
    for _ in range(repeat + 1):  # the first pass warms up and is dropped
        for name, sized in images.items():
            for size, im in sized.items():
                for label, encode in encoders.items():
                    cell = cells.setdefault((name, label, size), Cell([], []))
                    wall, cpu = time.perf_counter(), time.process_time()
                    data = encode(im)
                    cell.wall_ms.append((time.perf_counter() - wall) * 1000)
                    cell.cpu_ms.append((time.process_time() - cpu) * 1000)
                    if not cell.size:
                        cell.size, cell.psnr = len(data), psnr(im, data)
    for cell in cells.values():
        del cell.wall_ms[0], cell.cpu_ms[0]
    return cells


def report(cells: dict[tuple[str, str, int], Cell]) -> None:
    labels = list(dict.fromkeys(label for _, label, _ in cells))
    baseline = labels[0]
    print(f"Pillow {PIL.__version__}, libavif {features.version('avif')}, libwebp {features.version('webp')}")
    print("Median per thumbnail over the inputs; ratios against the JPEG baseline of the same input and size.\n")
    print("| size | encoding | wall ms | CPU ms | bytes | bytes vs JPEG | CPU vs JPEG | PSNR dB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in SIZES:
        for label in labels:
            rows = [cells[(name, label, size)] for name in INPUTS]
            bases = [cells[(name, baseline, size)] for name in INPUTS]
            wall = statistics.median(statistics.median(c.wall_ms) for c in rows)
            cpu = statistics.median(statistics.median(c.cpu_ms) for c in rows)
            size_b = statistics.median(c.size for c in rows)
            byte_ratio = statistics.median(c.size / b.size for c, b in zip(rows, bases, strict=True))
            cpu_ratio = statistics.median(
                statistics.median(c.cpu_ms) / max(statistics.median(b.cpu_ms), 1e-3)
                for c, b in zip(rows, bases, strict=True)
            )
            quality = statistics.median(c.psnr for c in rows)
            print(
                f"| {size} | {label} | {wall:.1f} | {cpu:.1f} | {size_b:,.0f} | {byte_ratio:.2f} | "
                f"{cpu_ratio:.1f}x | {quality:.1f} |"
            )
    print("\nPer upload (all three sizes, summed medians):\n")
    print("| encoding | CPU ms per upload | bytes per upload |")
    print("|---|---:|---:|")
    for label in labels:
        cpu = sum(statistics.median(statistics.median(cells[(n, label, s)].cpu_ms) for n in INPUTS) for s in SIZES)
        size_b = sum(statistics.median(cells[(n, label, s)].size for n in INPUTS) for s in SIZES)
        print(f"| {label} | {cpu:.1f} | {size_b:,.0f} |")


def end_to_end(repeat: int) -> None:
    """``imaging.process`` as the processor runs it, with the companions and without (``companions=()``)."""
    from chalicelib import imaging

    print("\nEnd to end (`imaging.process`: checks, decode, thumbnails, served copy, hashes), per upload:\n")
    print("| input | CPU ms without companions | CPU ms with | with / without |")
    print("|---|---:|---:|---:|")
    for name in INPUTS[:2]:
        data = (FIXTURES / name).read_bytes()
        timings: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeat + 1):
            for with_companions in (False, True):
                companions = None if with_companions else ()
                cpu = time.process_time()
                imaging.process(data, max_bytes=1 << 28, max_pixels=100_000_000, companions=companions)
                timings[with_companions].append((time.process_time() - cpu) * 1000)
        without, with_ = (statistics.median(timings[k][1:]) for k in (False, True))
        print(f"| {name} | {without:.1f} | {with_:.1f} | {with_ / without:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    report(run(args.repeat))
    end_to_end(args.repeat)


if __name__ == "__main__":
    main()
