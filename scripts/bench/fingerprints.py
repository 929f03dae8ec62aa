"""Benchmark: what the fingerprints (dHash + BlurHash) add to the image pipeline, as a ratio, same process.

    .venv/bin/python -m scripts.bench.fingerprints [--repeat 7]

For each real photo in tests/fixtures: ``chalicelib.imaging.process()`` end to end as shipped, against the same
call with the fingerprint step replaced by a constant (the baseline), interleaved pass by pass, median of
``--repeat`` passes after a warm-up; then the step's parts alone on the decoded image: the reduction to the small
upright intermediate, the dHash, the BlurHash, and (for comparison) the pHash. Always exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from PIL import Image

from chalicelib.imaging import fingerprints, process

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
PHOTOS = ("iphone_hdr_YES.jpg", "jolla.jpg", "IMG_5195.HEIC", "DSCN0010.jpg", "landscape_6.jpg")
CONSTANT = fingerprints.Fingerprints(dhash="0" * 16, blurhash="")


def run(data: bytes) -> object:
    return process(data, max_bytes=50 * 1024 * 1024, max_pixels=100_000_000)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def parts(im: Image.Image, repeat: int) -> list[float]:
    """Median ms of: the small upright intermediate, then the dHash, BlurHash and pHash of it."""
    target = fingerprints._fit(im.size, fingerprints.INTERMEDIATE_SIDE)
    small = im.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    steps: list[Callable[[], object]] = [
        lambda: im.convert("RGB").resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0),
        lambda: fingerprints.dhash(small),
        lambda: fingerprints.blurhash(small),
        lambda: fingerprints.phash(small),
    ]
    return [statistics.median(timed(step) for _ in range(repeat)) for step in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("| photo | pipeline without (ms) | pipeline with (ms) | ratio | intermediate | dHash | BlurHash | pHash |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in PHOTOS:
        data = (FIXTURES / name).read_bytes()
        with_, without = [], []
        run(data)  # warm-up
        for _ in range(args.repeat):
            with mock.patch("chalicelib.imaging.pipeline.fingerprints.fingerprints", return_value=CONSTANT):
                without.append(timed(lambda: run(data)))  # noqa: B023
            with_.append(timed(lambda: run(data)))  # noqa: B023
        im = Image.open(FIXTURES / name)
        im.draft("RGB", (600, 600))
        im.load()
        costs = parts(im, args.repeat)
        a, b = statistics.median(without), statistics.median(with_)
        print(
            f"| {name} ({im.size[0]}x{im.size[1]} decoded) | {a:.1f} | {b:.1f} | {b / a:.3f} | "
            + " | ".join(f"{cost:.2f}" for cost in costs)
            + " |"
        )


if __name__ == "__main__":
    main()
