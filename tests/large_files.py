"""Large test images, derived at test time from a real camera file (never committed: tests/fixtures stays small)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
MIB = 1024 * 1024


def make_large_jpeg(min_bytes: int, *, source: str = "Canon_40D.jpg") -> bytes:
    """A real JPEG of at least ``min_bytes``: a camera fixture scaled up and overlaid with noise (noise does not
    compress, so the size is reached at a pixel count well inside MAX_IMAGE_PIXELS)."""
    with Image.open(FIXTURES / source) as photo:
        base = photo.convert("RGB")
    # A 60% noise overlay at quality 100 without chroma subsampling runs near 3.6 bytes a pixel; aim over and check.
    pixels = int(min_bytes / 3.2)
    width = int((pixels * base.width / base.height) ** 0.5)
    height = pixels // width
    scaled = base.resize((width, height), Image.Resampling.BILINEAR)
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    Image.blend(scaled, noise, 0.6).save(buffer, "JPEG", quality=100, subsampling=0)
    data = buffer.getvalue()
    if len(data) < min_bytes:
        raise AssertionError(f"made {len(data)} bytes, wanted {min_bytes}")
    return data
