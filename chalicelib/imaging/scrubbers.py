"""The table of container scrubbers: one module per format, keyed by the catalog's format name.

A scrubber makes the served copy of an upload: the original pixels, losslessly, without location metadata.
Each module has one function, ``prepare(data) -> scrub``: ``prepare`` runs before the pixel decode and may
refuse the file by its structure (raising ``InvalidImage``; JPEG walks its markers here); the returned ``scrub()``
runs after the decode proved the pixels and returns the served bytes (``data`` itself when nothing needed
removing). Pillow errors raised by ``scrub()`` are translated by the pipeline.

A new format: its catalog entry (``chalicelib/catalog.py``), its module here, and its line in :data:`SCRUBBERS`.
A test fails when the catalog and this table disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from chalicelib.imaging import avif, gif, heif, jpeg, png, webp

Scrub = Callable[[], bytes]
Prepare = Callable[[bytes], Scrub]

SCRUBBERS: Final[Mapping[str, Prepare]] = {
    "JPEG": jpeg.prepare,
    "PNG": png.prepare,
    "GIF": gif.prepare,
    "WEBP": webp.prepare,
    "AVIF": avif.prepare,
    "HEIF": heif.prepare,
}
