"""What the CDN must be told when an image stops being public, and who may see a shared rendition.

Renditions are shared between records with the same content (``content/{cref}/...``, ADR 0013), so where they
sit no longer says who may see them: the record does, at the edge (``chalicelib/edge_resolver.py``). A visibility
change is therefore a write to the record only; no object moves. What remains here is telling the CDN to forget
what it may have cached once an image leaves the public side (public/unlisted -> private) or is deleted: its
file, its renditions and its share page. Each step is idempotent, so a retried request (after a 503
``CDN_UNAVAILABLE``) finishes the job. Images from before content addressing keep the keys their records hold
(``public/i/``, ``private/i/``, ``files/``, ``thumbs/``) and are served from there by the same rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib import catalog, delivery
from chalicelib.invalidation import Invalidator
from chalicelib.records import READY, Image
from chalicelib.storage import Storage

log = logging.getLogger(__name__)

_ANYONE_WITH_LINK = frozenset(v.name for v in catalog.VISIBILITY_LEVELS if v.anyone_with_link)
# What a private image's presigned links tell caches: the object itself says ``public`` (it is shared).
PRIVATE_CACHE_CONTROL = "private, max-age=31536000, immutable"


def is_public(visibility: str) -> bool:
    """Whether an image of this visibility is served by the CDN (anyone with the link may read it)."""
    return visibility in _ANYONE_WITH_LINK


def cache_control(*, public: bool) -> str:
    # Renditions never change once written; public ones may be kept by shared caches (the CDN) too.
    return delivery.IMMUTABLE_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL


@dataclass
class Placement:
    storage: Storage
    invalidator: Invalidator

    def changed(self, image: Image, *, public: bool) -> None:
        """After a visibility change is committed: leaving the public side invalidates the image's CDN paths
        (repeated on a retry: harmless)."""
        if not public:
            self.invalidator.invalidate(delivery.image_paths_prefix(image.ref))

    def forget(self, image: Image) -> None:
        """After a delete: the CDN must stop serving what it may have cached."""
        if image.status == READY and is_public(image.visibility):
            self.invalidator.invalidate(delivery.image_paths_prefix(image.ref))
