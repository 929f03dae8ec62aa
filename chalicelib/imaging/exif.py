"""EXIF tags the pipeline reads or removes, and the GPS-free rewrite of an Exif block (used by the scrubbers)."""

from __future__ import annotations

from typing import Final

from PIL import Image

TAG_ORIENTATION: Final = 0x0112
TAG_GPS_IFD: Final = 0x8825


def exif_without_gps(payload: bytes) -> bytes:
    """The Exif payload with the GPS IFD removed; ``b""`` to drop the block; ``payload`` itself if no GPS."""
    exif = Image.Exif()
    try:
        exif.load(payload)
        if TAG_GPS_IFD not in exif:
            return payload  # verbatim: keeps maker notes and the embedded thumbnail exactly as they were
        del exif[TAG_GPS_IFD]
        rewritten = exif.tobytes()
    except Exception:  # EXIF Pillow cannot round-trip: keep only what we can be sure of, the orientation
        return minimal_exif(payload)
    # A JPEG segment holds at most 65533 payload bytes.
    return rewritten if len(rewritten) <= 0xFFFF - 2 else minimal_exif(payload)


def minimal_exif(payload: bytes) -> bytes:
    """Just the orientation (so viewers still show the photo upright), or nothing at all."""
    try:
        original = Image.Exif()
        original.load(payload)
        orientation = original.get(TAG_ORIENTATION)
    except Exception:  # nothing readable to keep: drop the Exif segment, and with it any GPS
        return b""
    if not isinstance(orientation, int) or orientation == 1:
        return b""
    minimal = Image.Exif()
    minimal[TAG_ORIENTATION] = orientation
    return minimal.tobytes()
