"""The benchmark inputs: real camera files from ``tests/fixtures`` and larger files derived from them.

Every input starts from a real photo (a synthetic-only benchmark once hid a 1.9x cost on real files):

- ``jolla`` — ``jolla.jpg``, a Jolla phone photo, 3264x2448, no restart markers;
- ``iphone`` — ``iphone_hdr_YES.jpg``, an iPhone 6 photo, 3264x2448, restart markers (interval as shot);
- ``iphone-rst4`` — the iPhone photo re-saved by Pillow with ``restart_marker_blocks=4`` (a restart marker every
  4 MCUs, ~31,000 markers: the dense case some cameras write), its quantisation tables, subsampling and EXIF kept;
- ``24MP`` / ``48MP`` — the iPhone photo upscaled (LANCZOS) to 6000x4000 / 8000x6000 with a light grain so the
  entropy-coded data is as dense as a real photo's, saved at quality 90 with the source's EXIF;
- ``heic`` — ``IMG_5195.HEIC``, an iPhone HEIC, 2566x3313 as displayed;
- ``png`` — the Jolla photo as a 1920x1440 RGB PNG (the shape of a large screenshot or an exported photo).

Derived files are written once to ``build/bench/`` (git-ignored) and reused; delete that folder to rebuild.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CACHE = ROOT / "build" / "bench"


@dataclass(frozen=True)
class BenchInput:
    name: str
    description: str
    data: bytes

    @property
    def mib(self) -> float:
        return len(self.data) / 2**20


def _cached(name: str, make: object) -> bytes:
    path = CACHE / name
    if path.exists():
        return path.read_bytes()
    assert callable(make)
    data: bytes = make()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _resave_dense_restart(source: bytes) -> bytes:
    with Image.open(io.BytesIO(source)) as im:
        out = io.BytesIO()
        im.save(
            out,
            "JPEG",
            quality="keep",
            subsampling="keep",
            restart_marker_blocks=4,
            exif=im.info.get("exif", b""),
            icc_profile=im.info.get("icc_profile"),
        )
    return out.getvalue()


def _upscaled(source: bytes, size: tuple[int, int]) -> bytes:
    with Image.open(io.BytesIO(source)) as im:
        exif = im.info.get("exif", b"")
        big = im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    # Upscaling smooths the picture, which makes its entropy-coded data thinner than a real photo's of that
    # size; a light grain restores the density (bytes per pixel close to the source's).
    grain = Image.effect_noise(size, 24).convert("RGB")
    textured = Image.blend(big, grain, 0.15)
    out = io.BytesIO()
    textured.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _png(source: bytes) -> bytes:
    with Image.open(io.BytesIO(source)) as im:
        small = im.convert("RGB").resize((1920, 1440), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "PNG")
    return out.getvalue()


def restart_markers(data: bytes) -> int:
    """How many RST0..RST7 markers the file holds (an upper bound: also counts any in metadata)."""
    return sum(data.count(bytes((0xFF, 0xD0 + i))) for i in range(8))


def load(names: tuple[str, ...] | None = None) -> list[BenchInput]:
    """The inputs in a fixed order; ``names`` picks a subset."""
    jolla = (FIXTURES / "jolla.jpg").read_bytes()
    iphone = (FIXTURES / "iphone_hdr_YES.jpg").read_bytes()
    makers: dict[str, tuple[str, object]] = {
        "jolla": ("Jolla phone JPEG 3264x2448, no restart markers", lambda: jolla),
        "iphone": ("iPhone 6 JPEG 3264x2448, restart markers as shot", lambda: iphone),
        "iphone-rst4": (
            "the iPhone JPEG re-saved with restart_marker_blocks=4 (dense markers)",
            lambda: _cached("iphone-rst4.jpg", lambda: _resave_dense_restart(iphone)),
        ),
        "24MP": (
            "24 MP JPEG 6000x4000 derived from the iPhone photo",
            lambda: _cached("24mp.jpg", lambda: _upscaled(iphone, (6000, 4000))),
        ),
        "48MP": (
            "48 MP JPEG 8000x6000 derived from the iPhone photo",
            lambda: _cached("48mp.jpg", lambda: _upscaled(iphone, (8000, 6000))),
        ),
        "heic": ("iPhone HEIC 2566x3313 (IMG_5195.HEIC)", lambda: (FIXTURES / "IMG_5195.HEIC").read_bytes()),
        "png": ("PNG 1920x1440 made from the Jolla photo", lambda: _cached("jolla-1920.png", lambda: _png(jolla))),
    }
    chosen = names or tuple(makers)
    out = []
    for name in chosen:
        description, make = makers[name]
        assert callable(make)
        out.append(BenchInput(name, description, make()))
    return out
