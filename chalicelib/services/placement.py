"""Where an image's renditions live, and moving them when its visibility changes.

Public and unlisted images keep their renditions under the prefix the CDN reads (``public/i/{ref}...``); private
ones under a prefix it cannot (``private/i/{ref}...``). A visibility change that crosses that line moves them:

1. copy every rendition to the target prefix (a source already gone means a retried move got this far);
2. commit the record with the new keys (the record says where the files are; readers follow it);
3. delete every copy at the other places (old keys, and the other prefix's keys: a retry cleans up what a
   crashed attempt left), so a private image is no longer served from the public prefix;
4. when the image left the public prefix, invalidate its CDN paths (file, renditions, share page).
Each step is idempotent, so the whole move is safe to repeat or retry; a failed invalidation raises (503) and the
retry runs the move again. Images from before short ids (``files/``, ``thumbs/``) move on their first change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib import catalog, delivery
from chalicelib.invalidation import Invalidator
from chalicelib.records import Image
from chalicelib.storage import Storage, placement_prefix, rendition_key, served_key

log = logging.getLogger(__name__)

_ANYONE_WITH_LINK = frozenset(v.name for v in catalog.VISIBILITY_LEVELS if v.anyone_with_link)
PRIVATE_CACHE_CONTROL = "private, max-age=31536000, immutable"


def is_public(visibility: str) -> bool:
    """Whether an image of this visibility is served by the CDN (anyone with the link may read it)."""
    return visibility in _ANYONE_WITH_LINK


def cache_control(*, public: bool) -> str:
    # Renditions never change once written; public ones may be kept by shared caches (the CDN) too.
    return delivery.IMMUTABLE_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL


def disposition(ref: str, name: str | None, extension: str) -> str:
    """``inline`` with a filename that carries the real type's extension (``abc.jpg``, ``abc-600.webp``)."""
    return f'inline; filename="{ref}{"-" + name if name else ""}.{extension}"'


@dataclass(frozen=True)
class Keys:
    file_key: str | None
    thumbnails: dict[str, str]
    display_key: str | None = None
    # The thumbnails' companion encodings, by size then extension (``Image.thumbnail_variants``).
    thumbnail_variants: dict[str, dict[str, str]] = field(default_factory=dict)

    def all(self) -> list[str]:
        return [k for k in (self.file_key, *self.thumbnails.values(), self.display_key, *self.variant_keys()) if k]

    def variant_keys(self) -> list[str]:
        return [key for by_format in self.thumbnail_variants.values() for key in by_format.values()]

    @classmethod
    def of(cls, image: Image) -> Keys:
        """Where ``image``'s renditions are now."""
        variants = {size: dict(by_format) for size, by_format in image.thumbnail_variants.items()}
        return cls(image.file_key, dict(image.thumbnails), image.display_key, variants)


def keys_for(image: Image, *, public: bool) -> Keys:
    """Where ``image``'s renditions belong for this placement (same names and extensions as it has now)."""
    prefix = placement_prefix(public=public)
    file_key = served_key(prefix, image.ref, delivery.extension_of(image.file_key)) if image.file_key else None
    thumbnails = {
        name: rendition_key(prefix, image.ref, name, delivery.extension_of(key))
        for name, key in image.thumbnails.items()
    }
    display = (
        rendition_key(prefix, image.ref, "display", delivery.extension_of(image.display_key))
        if image.display_key
        else None
    )
    variants = {
        name: {ext: rendition_key(prefix, image.ref, name, ext) for ext in by_format}
        for name, by_format in image.thumbnail_variants.items()
    }
    return Keys(file_key, thumbnails, display, variants)


@dataclass
class Placement:
    storage: Storage
    invalidator: Invalidator

    def move(self, image: Image, *, public: bool, commit: Callable[[Keys], Image]) -> Image:
        """Put ``image``'s renditions where ``public`` says, committing the new keys with ``commit``."""
        target = keys_for(image, public=public)
        current = Keys.of(image)
        pairs = [(current.file_key, target.file_key), (current.display_key, target.display_key)] + [
            (key, target.thumbnails[n]) for n, key in current.thumbnails.items()
        ]
        pairs += [
            (key, target.thumbnail_variants[n][ext])
            for n, by_format in current.thumbnail_variants.items()
            for ext, key in by_format.items()
        ]
        for old, new in pairs:
            if not old or not new or old == new:
                continue
            copied = self.storage.copy(old, new, cache_control=cache_control(public=public))
            if not copied and not self.storage.exists(new):
                log.warning("rendition missing while moving", extra={"image_id": image.id, "key": old})
        updated = commit(target)
        stale = {old for old, new in pairs if old and old != new} | set(keys_for(image, public=not public).all())
        stale -= set(target.all())
        if stale:
            self.storage.delete(sorted(stale))
        if not public:
            self.invalidator.invalidate(delivery.image_paths_prefix(image.ref))
        return updated

    def forget(self, image: Image) -> None:
        """After a delete: the CDN must stop serving what it may have cached."""
        keys = Keys.of(image).all()
        if any(key.startswith(placement_prefix(public=True)) for key in keys):
            self.invalidator.invalidate(delivery.image_paths_prefix(image.ref))
