"""What the pipeline returns: the processed image and its renditions (plain data, no Pillow)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rendition:
    """One stored file: a thumbnail, or the served copy of the original. Sizes are upright (as displayed)."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    """What ``process`` learned and made. ``width``/``height`` are upright, after EXIF orientation."""

    format: str
    content_type: str
    width: int
    height: int
    sha256: str  # of ``served.data``, the file we publish (never of an upload that still had metadata in it)
    served: Rendition
    thumbnails: dict[int, Rendition]
    # What browsers are shown for a format they cannot display (HEIC) or may not (AVIF); None for the others.
    display: Rendition | None = None
    dhash: str = ""  # perceptual hash (dHash) of the upright pixels, 16 hex digits (imaging/fingerprints.py)
    blurhash: str = ""  # the placeholder shown while a rendition loads
    original_sha256: str = ""  # of the upload as received (integrity checks; never published)
    # Each thumbnail in the catalog's companion formats (``catalog.thumbnail_companions()``), by size then extension.
    companions: dict[int, dict[str, Rendition]] = field(default_factory=dict)
