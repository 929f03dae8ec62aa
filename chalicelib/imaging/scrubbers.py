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

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Final

Scrub = Callable[[], bytes]
Prepare = Callable[[bytes], Scrub]


class _ImportedOnUse(Mapping[str, Prepare]):
    """Format name -> its module's ``prepare``, importing the module the first time that format is asked for.

    HEIF's module imports pillow-heif and registers its opener (libheif: ~17 ms of CPU on a cold start); only a
    HEIC upload needs it, and the pipeline asks for the scrubber before it opens the file, so the opener is
    always registered in time.
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)

    def __getitem__(self, fmt: str) -> Prepare:
        prepare: Prepare = importlib.import_module(f"chalicelib.imaging.{self._modules[fmt]}").prepare
        return prepare

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


SCRUBBERS: Final[Mapping[str, Prepare]] = _ImportedOnUse(
    {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif", "HEIF": "heif"}
)
