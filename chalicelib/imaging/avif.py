"""AVIF: no lossless route in Pillow, so the file is re-encoded without EXIF/XMP only when it has any (lossy;
AVIF is rare as an upload), else served unchanged."""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image


def prepare(data: bytes) -> Callable[[], bytes]:
    return lambda: _served(data)


def _served(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data), formats=["AVIF"]) as im:
        if not im.info.get("exif") and not im.info.get("xmp"):
            return data
        out = io.BytesIO()
        im.info = {k: v for k, v in im.info.items() if k not in ("exif", "xmp")}
        im.save(out, "AVIF", quality=90, icc_profile=im.info.get("icc_profile"))
        return out.getvalue()
