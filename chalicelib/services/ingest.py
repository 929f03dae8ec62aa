"""The one image pipeline behind both upload paths: process, find the duplicate, store, record, count.

``ImageService.upload`` (multipart through the API: a new record is *created* ready) and the processor
(presigned upload: a pending record is *marked* ready) differ only in where the bytes come from and how the ready
record is committed; both call :meth:`Ingest.process` and then :meth:`Ingest.store`.

Renditions go to deterministic keys (``storage.served_key`` / ``rendition_key`` under the image's placement), so
a retried or duplicated run overwrites them with the same bytes. A failure while writing them removes what was
written; a failed commit removes them only when asked to (``discard_on_failure``): the API path's keys belong to a
brand-new id, while the processor's may already be a concurrent duplicate's finished work.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.records import Image, ImageRecords
from chalicelib.services.placement import cache_control, disposition, is_public
from chalicelib.services.ports import Metrics, UploadPath
from chalicelib.settings import Settings
from chalicelib.storage import Storage, placement_prefix, rendition_key, served_key

if TYPE_CHECKING:
    from chalicelib import imaging

log = logging.getLogger(__name__)


@dataclass
class Ingest:
    settings: Settings
    records: ImageRecords
    storage: Storage
    metrics: Metrics

    def process(self, data: bytes, *, max_bytes: int) -> imaging.ProcessedImage:
        """Validate by content and make the renditions (``InvalidImage`` for a bad file); stores nothing."""
        # Pillow loads on the first upload, not at every cold start: the API's reads never need it.
        from chalicelib import imaging

        return imaging.process(data, max_bytes=max_bytes, max_pixels=self.settings.max_image_pixels)

    def store(
        self,
        image: Image,
        processed: imaging.ProcessedImage,
        *,
        processed_at: str,
        commit: Callable[[Image], Image | None],
        path: UploadPath,
        upload_bytes: int,
        discard_on_failure: bool,
    ) -> Image:
        """Write the renditions of ``image`` and ``commit`` the ready record; returns the record as committed.

        ``commit`` writes the ready record (``records.create``, or ``records.mark_ready``'s conditional write)
        and returns what it stored, or ``None`` when that is the record it was given. ``duplicate_of`` names an
        earlier image of the same owner with the same content (looked up before anything is written).
        ``upload_bytes`` is what the user sent (the ``UploadBytes`` metric).
        """
        duplicate_of = self.records.find_duplicate(image, processed.sha256)
        stored = self._store_renditions(image, processed)
        ready = replace(apply_processing(image, processed, stored, processed_at), duplicate_of=duplicate_of)
        try:
            committed = commit(ready)
        except Exception:
            if discard_on_failure:
                keys = [stored["file_key"], *stored["thumbnails"].values(), *ready.variant_keys()]
                _delete_quietly(self.storage, [*keys, stored["display_key"]] if stored["display_key"] else keys)
            raise
        self.metrics.record_upload(upload_bytes, path=path)
        return ready if committed is None else committed

    def _store_renditions(self, image: Image, processed: imaging.ProcessedImage) -> dict[str, Any]:
        """Write the served copy and thumbnails where the image's visibility places them; returns the record
        fields naming them (``chalicelib/services/placement.py``: public and unlisted under the CDN's prefix).

        On failure, removes what it wrote before re-raising, so nothing is left half-stored.
        """
        public = is_public(image.visibility)
        prefix = placement_prefix(public=public)
        cache = cache_control(public=public)
        written: list[str] = []
        # What each stored object's bytes hash to, so ``verify`` can tell later whether the store still holds them.
        digests = {"file": hashlib.sha256(processed.served.data).hexdigest()}
        try:
            served = processed.served
            served_at = served_key(prefix, image.ref, served.extension)
            self.storage.put(
                served_at,
                served.data,
                content_type=served.content_type,
                cache_control=cache,
                content_disposition=disposition(image.ref, None, served.extension),
            )
            written.append(served_at)
            thumbnails: dict[str, str] = {}
            variants: dict[str, dict[str, str]] = {}
            for size, rendition in processed.thumbnails.items():
                key = rendition_key(prefix, image.ref, str(size), rendition.extension)
                self.storage.put(
                    key,
                    rendition.data,
                    content_type=rendition.content_type,
                    cache_control=cache,
                    content_disposition=disposition(image.ref, str(size), rendition.extension),
                )
                written.append(key)
                thumbnails[str(size)] = key
                digests[str(size)] = hashlib.sha256(rendition.data).hexdigest()
                # The same thumbnail in the companion formats (<picture> sources), named like it: 600.webp.
                for extension, companion in processed.companions.get(size, {}).items():
                    key = rendition_key(prefix, image.ref, str(size), extension)
                    self.storage.put(
                        key,
                        companion.data,
                        content_type=companion.content_type,
                        cache_control=cache,
                        content_disposition=disposition(image.ref, str(size), extension),
                    )
                    written.append(key)
                    variants.setdefault(str(size), {})[extension] = key
                    digests[f"{size}.{extension}"] = hashlib.sha256(companion.data).hexdigest()
            shown: str | None = None
            if processed.display is not None:
                shown = rendition_key(prefix, image.ref, "display", processed.display.extension)
                self.storage.put(
                    shown,
                    processed.display.data,
                    content_type=processed.display.content_type,
                    cache_control=cache,
                    content_disposition=disposition(image.ref, "display", processed.display.extension),
                )
                written.append(shown)
                digests["display"] = hashlib.sha256(processed.display.data).hexdigest()
        except Exception:
            _delete_quietly(self.storage, written)
            raise
        return {
            "file_key": served_at,
            "thumbnails": thumbnails,
            "digests": digests,
            "display_key": shown,
            "thumbnail_variants": variants,
        }


def apply_processing(
    image: Image, processed: imaging.ProcessedImage, stored: dict[str, Any], processed_at: str
) -> Image:
    """``image`` with what processing learned (type, served size, dimensions, hash) and the stored keys."""
    return replace(
        image,
        content_type=processed.content_type,
        size=len(processed.served.data),
        width=processed.width,
        height=processed.height,
        sha256=processed.sha256,
        dhash=processed.dhash or None,
        blurhash=processed.blurhash or None,
        processed_at=processed_at,
        **stored,
    )


def _delete_quietly(storage: Storage, keys: Iterable[str]) -> None:
    keys = list(keys)
    if not keys:
        return
    try:
        storage.delete(keys)
    except Exception:
        # The sweeper finds objects without a record; the caller's error matters more than this one.
        log.exception("could not remove partial renditions", extra={"keys": keys})
