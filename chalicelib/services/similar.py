"""Near-duplicates among the caller's own images: perceptual hashes within a Hamming distance, nearest first.

Only the owner's images are ever compared or returned: another user's image (even byte-identical) is invisible
here, and asking about an image id that is not the caller's answers exactly as a missing id does
(``ImageNotFound``), so the route tells nobody what exists.

Bounds: the newest :data:`COMPARED_IMAGES` of the owner's images are read from the owner index (id, hash and
status only; never a table scan), at most :data:`MAX_RESULTS` matches are returned, and ``max_distance`` is at
most :data:`MAX_DISTANCE_LIMIT`. The default threshold :data:`SIMILAR_DISTANCE` was chosen from measured false
positive and negative rates on the real fixtures (docs/benchmarks.md, ``scripts/bench/similar_threshold.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from chalicelib.errors import ImageNotFound, ValidationFailed
from chalicelib.records import READY, Image, ImageRecords

# The default Hamming distance (of 64 bits) within which two images count as similar: the one source of the
# threshold (the API's default, the OpenAPI text and docs/benchmarks.md name this constant).
SIMILAR_DISTANCE: Final = 12
MAX_DISTANCE_LIMIT: Final = 16  # ``?max_distance=`` at most: 5 bits short of the nearest different photo (21)
COMPARED_IMAGES: Final = 1000  # the owner's newest images compared per request
MAX_RESULTS: Final = 24


@dataclass(frozen=True)
class Match:
    image: Image
    distance: int


@dataclass(frozen=True)
class SimilarImages:
    """The answer: the image asked about, the threshold used, how many images were compared, the matches."""

    image: Image
    max_distance: int
    compared: int
    matches: list[Match]


@dataclass
class SimilarityService:
    records: ImageRecords

    def similar(self, image_id: str, *, owner: str, max_distance: object = None) -> SimilarImages:
        threshold = check_max_distance(max_distance)
        image = self.records.get(image_id)
        if image.owner != owner:
            raise ImageNotFound(id=image_id)  # the same answer as a missing id: nothing about others' images
        if image.status != READY or not image.dhash:
            return SimilarImages(image, threshold, 0, [])  # not processed yet, or from before hashes
        candidates = [(i, h) for i, h in self.records.owner_fingerprints(owner, COMPARED_IMAGES) if i != image.id]
        scored = ((distance(image.dhash, dhash), i) for i, dhash in candidates)
        near = sorted((d, i) for d, i in scored if d <= threshold)[:MAX_RESULTS]
        found = self.records.get_many([i for _, i in near])
        matches = [Match(found[i], d) for d, i in near if i in found and found[i].owner == owner]
        return SimilarImages(image, threshold, len(candidates), matches)


def distance(a: str, b: str) -> int:
    """The Hamming distance of two perceptual hashes: how many of their 64 bits differ (16 hex digits each)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def check_max_distance(value: object) -> int:
    if value is None or value == "":
        return SIMILAR_DISTANCE
    try:
        number = int(str(value))
    except ValueError as exc:
        raise ValidationFailed("max_distance must be an integer.", field="max_distance") from exc
    if not 0 <= number <= MAX_DISTANCE_LIMIT:
        raise ValidationFailed(
            f"max_distance must be between 0 and {MAX_DISTANCE_LIMIT}.", field="max_distance", max=MAX_DISTANCE_LIMIT
        )
    return number
