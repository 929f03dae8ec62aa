"""The one image pipeline behind both upload paths: process, find the duplicate, store, record, count.

``ImageService.upload`` (multipart through the API: a new record is *created* ready) and the processor
(presigned upload: a pending record is *marked* ready) differ only in where the bytes come from and how the ready
record is committed; both call :meth:`Ingest.process` and then :meth:`Ingest.store`.

Renditions are content-addressed and shared (ADR 0013, ``chalicelib/contents.py``). Every record's processing
writes the record's own generation (``content/{generation}/...``, chosen with the record, so a retried run
overwrites a crashed attempt's objects instead of leaving them), then commits the ready record in one
transaction with the content item: one more reference to the item that exists, or the item created with this
generation. The run that found an item deletes its generation after the commit; the run that created one deletes
as many keys of a generation that never existed. So a fresh and a repeated upload do the same writes, reads and
deletes in the same order, and answer alike (ADR 0013, "Nothing leaks"). A lost race is retried against the
current item. When the commit fails, the generation is deleted unless a content item holds it (a concurrent run
of the same record's event committed it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from chalicelib import delivery
from chalicelib.contents import Content, ContentChanged, ContentOp, Contents, content_id_of, new_cref
from chalicelib.errors import MetadataUnavailable
from chalicelib.records import Image, ImageRecords
from chalicelib.services.ports import Metrics, UploadPath
from chalicelib.settings import Settings
from chalicelib.storage import Storage, content_key

if TYPE_CHECKING:
    from chalicelib import imaging

log = logging.getLogger(__name__)

# Lost races retried before giving up (each loss means another run changed the item in between: rare).
ACQUIRE_ATTEMPTS: Final = 8
SERVED_NAME: Final = "file"


def disposition(name: str, extension: str) -> str:
    """The stored object's own ``Content-Disposition``: shared by every record, so it names no record (the edge
    gives each record's URL its own filename, ``chalicelib/edge_resolver.py``)."""
    return f'inline; filename="{name}.{extension}"'


@dataclass
class Ingest:
    settings: Settings
    records: ImageRecords
    storage: Storage
    metrics: Metrics
    contents: Contents | None = None

    def __post_init__(self) -> None:
        if self.contents is None:
            self.contents = Contents()

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
        commit: Callable[[Image, ContentOp], Image | None],
        path: UploadPath,
        upload_bytes: int,
        done_with: Sequence[str] = (),
    ) -> Image:
        """Write this run's generation, ``commit`` the ready record with its content item; returns the record.

        ``commit(ready, content_op)`` writes the ready record (``records.create`` or ``records.mark_ready``) in
        one transaction with ``content_op`` and returns what it stored, or ``None`` when that is the record it
        was given; it raises ``ContentChanged`` when the item changed since it was read (retried here).
        ``duplicate_of`` names an earlier image of the same owner with the same content (looked up before
        anything is written). ``upload_bytes`` is what the user sent (the ``UploadBytes`` metric). ``done_with``:
        keys to delete once the record is committed (the processed original), in the same request as the cleanup.
        """
        assert self.contents is not None
        duplicate_of = self.records.find_duplicate(image, processed.sha256)
        mine = self._write_generation(processed, image.generation or new_cref(), created_at=processed_at)
        decoy = [content_key(new_cref(), "x", "x") for _ in mine.all_keys()]
        try:
            for _ in range(ACQUIRE_ATTEMPTS):
                existing = self.contents.get(mine.content_id)
                served = existing or mine
                ready = replace(
                    apply_processing(image, processed, served, processed_at),
                    duplicate_of=duplicate_of,
                    content_id=mine.content_id,
                )
                try:
                    committed = commit(ready, self.contents.acquire_op(existing, mine))
                except ContentChanged:
                    continue
                break
            else:
                log.warning("content item kept changing; giving up", extra={"image_id": image.id})
                raise MetadataUnavailable()
        except BaseException:
            self._discard_unless_held(mine)
            raise
        # The same delete either way: this run's generation when an earlier one won, else keys that never existed.
        joined = existing is not None and existing.cref != mine.cref
        _delete_quietly(self.storage, [*done_with, *(mine.all_keys() if joined else decoy)])
        self.metrics.record_upload(upload_bytes, path=path)
        return ready if committed is None else committed

    def _discard_unless_held(self, mine: Content) -> None:
        """After a failed commit: delete this generation unless a content item holds it. Only a run of this same
        record can have made an item with it, and the record is then no longer pending, so an item that does
        not hold it now never will."""
        assert self.contents is not None
        try:
            current = self.contents.get(mine.content_id)
        except Exception:
            log.exception("could not tell whether a generation is held; the sweeper will", extra={"cref": mine.cref})
            return
        if current is None or current.cref != mine.cref:
            _delete_quietly(self.storage, mine.all_keys())

    def _write_generation(self, processed: imaging.ProcessedImage, cref: str, *, created_at: str) -> Content:
        """Write the renditions under generation ``cref``; returns the content they make. On failure, removes what
        it wrote (unless a content item holds the generation) before re-raising, so nothing is left half-stored."""
        renditions: dict[str, imaging.Rendition] = {SERVED_NAME: processed.served}
        renditions |= {str(size): rendition for size, rendition in processed.thumbnails.items()}
        # The same thumbnails in the companion formats (<picture> sources), named like them: 600.webp.
        companions = {
            f"{size}.{extension}": companion
            for size, by_format in processed.companions.items()
            for extension, companion in by_format.items()
        }
        renditions |= companions
        if processed.display is not None:
            renditions["display"] = processed.display
        keys = {name: content_key(cref, name.split(".")[0], r.extension) for name, r in renditions.items()}
        variants: dict[str, dict[str, str]] = {}
        for name in companions:
            size, extension = name.split(".")
            variants.setdefault(size, {})[extension] = keys[name]
        # What each stored object's bytes hash to, so ``verify`` can tell later whether the store still holds them.
        digests = {name: hashlib.sha256(r.data).hexdigest() for name, r in renditions.items()}
        content = Content(
            content_id=content_id_of(digests, keys),
            cref=cref,
            file_key=keys[SERVED_NAME],
            thumbnails={name: key for name, key in keys.items() if name.isdigit()},
            display_key=keys.get("display"),
            digests=digests,
            thumbnail_variants=variants,
            created_at=created_at,
        )
        cache = delivery.IMMUTABLE_CACHE_CONTROL  # shared by every record; a private one is never served by the CDN
        try:
            for name, rendition in renditions.items():
                self.storage.put(
                    keys[name],
                    rendition.data,
                    content_type=rendition.content_type,
                    cache_control=cache,
                    content_disposition=disposition(name.split(".")[0], rendition.extension),
                )
        except Exception:
            self._discard_unless_held(content)
            raise
        return content


def apply_processing(image: Image, processed: imaging.ProcessedImage, content: Content, processed_at: str) -> Image:
    """``image`` with what processing learned (type, served size, dimensions, hash) and the content's keys."""
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
        file_key=content.file_key,
        thumbnails=dict(content.thumbnails),
        display_key=content.display_key,
        digests=dict(content.digests),
        thumbnail_variants={size: dict(by_format) for size, by_format in content.thumbnail_variants.items()},
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
