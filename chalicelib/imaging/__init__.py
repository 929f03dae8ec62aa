"""The pure Pillow image pipeline: sniff, validate, orient, thumbnail, strip location.

Both paths of an upload (the processor and the API's multipart upload, through ``chalicelib/services/ingest.py``)
call :func:`process`; the package imports nothing from Chalice or boto3 and does no I/O. Every bad file becomes
``InvalidImage(RejectReason.X, ...)``.

- ``pipeline.py``: the order of the checks and the one decode;
- ``thumbnails.py``: orientation and the thumbnail cascade;
- ``sniff.py``: magic bytes;
- ``scrubbers.py``: the table of container scrubbers (``jpeg.py``, ``png.py``, ``webp.py``, ``gif.py``,
  ``avif.py``), which make the served copy without location metadata.

Formats, MIME types, extensions and thumbnail sizes are the catalog's (``chalicelib/catalog.py``).
"""

from __future__ import annotations

from chalicelib.catalog import THUMBNAIL_SIZES, accepted_format_names
from chalicelib.imaging.pipeline import process
from chalicelib.imaging.results import ProcessedImage, Rendition
from chalicelib.imaging.sniff import SNIFF_BYTES, sniff

# The Pillow format names this build accepts (AVIF only where Pillow has its module).
ALLOWED_FORMATS = accepted_format_names()

__all__ = ["ALLOWED_FORMATS", "SNIFF_BYTES", "THUMBNAIL_SIZES", "ProcessedImage", "Rendition", "process", "sniff"]
