"""The one image pipeline behind both upload paths: process, find the duplicate, store, record, count.

``ImageService.upload`` (multipart through the API: a new record is *created* ready) and the processor
(presigned upload: a pending record is *marked* ready) differ only in where the bytes come from and how the ready
record is committed; both call :meth:`Ingest.process` and then :meth:`Ingest.store`.

Renditions are content-addressed and shared (ADR 0013, ``chalicelib/contents.py``). Every run writes its own
new generation (``content/{cref}/...``), then commits the ready record in one transaction with the content
item: one more reference to the item that exists, or the item created with this run's generation. The run that
found an item deletes its own generation after the commit; the run that created one deletes as many keys of a
generation that never existed. So a fresh and a repeated upload do the same writes, reads and deletes in the same
order, and answer alike (ADR 0013, "Nothing leaks"). A lost race is retried against the current item; whatever
goes wrong, the generation this run wrote is deleted unless a committed record names it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
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
    ) -> Image:
        """Write this run's generation, ``commit`` the ready record with its content item; returns the record.

        ``commit(ready, content_op)`` writes the ready record (``records.create`` or ``records.mark_ready``) in
        one transaction with ``content_op`` and returns what it stored, or ``None`` when that is the record it
        was given; it raises ``ContentChanged`` when the item changed since it was read (retried here).
        ``duplicate_of`` names an earlier image of the same owner with the same content (looked up before
        anything is written). ``upload_bytes`` is what the user sent (the ``UploadBytes`` metric).
        """
        assert self.contents is not None
        duplicate_of = self.records.find_duplicate(image, processed.sha256)
        mine = self._write_generation(processed, created_at=processed_at)
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
            _delete_quietly(self.storage, mine.all_keys())  # no committed record names this generation
            raise
        # The same delete either way: this run's generation when an earlier one won, else keys that never existed.
        _delete_quietly(self.storage, mine.all_keys() if existing is not None else decoy)
        self.metrics.record_upload(upload_bytes, path=path)
        return ready if committed is None else committed

    def _write_generation(self, processed: imaging.ProcessedImage, *, created_at: str) -> Content:
        """Write the renditions under a new generation; returns the content they make. On failure, removes what
        it wrote before re-raising, so nothing is left half-stored."""
        cref = new_cref()
        cache = delivery.IMMUTABLE_CACHE_CONTROL  # shared by every record; a private one is never served by the CDN
        renditions: list[tuple[str, imaging.Rendition]] = [(SERVED_NAME, processed.served)]
        renditions += [(str(size), rendition) for size, rendition in processed.thumbnails.items()]
        if processed.display is not None:
            renditions.append(("display", processed.display))
        written: dict[str, str] = {}
        # What each stored object's bytes hash to, so ``verify`` can tell later whether the store still holds them.
        digests: dict[str, str] = {}
        try:
            for name, rendition in renditions:
                key = content_key(cref, name, rendition.extension)
                self.storage.put(
                    key,
                    rendition.data,
                    content_type=rendition.content_type,
                    cache_control=cache,
                    content_disposition=disposition(name, rendition.extension),
                )
                written[name] = key
                digests[name] = hashlib.sha256(rendition.data).hexdigest()
        except Exception:
            _delete_quietly(self.storage, written.values())
            raise
        file_key = written.pop(SERVED_NAME)
        digests_by_record_name = {("file" if n == SERVED_NAME else n): d for n, d in digests.items()}
        return Content(
            content_id=content_id_of(digests_by_record_name, {**written, "file": file_key}),
            cref=cref,
            file_key=file_key,
            thumbnails={n: k for n, k in written.items() if n != "display"},
            display_key=written.get("display"),
            digests=digests_by_record_name,
            created_at=created_at,
        )


def apply_processing(image: Image, processed: imaging.ProcessedImage, content: Content, processed_at: str) -> Image:
    """``image`` with what processing learned (type, served size, dimensions, hash) and the content's keys."""
    return replace(
        image,
        content_type=processed.content_type,
        size=len(processed.served.data),
        width=processed.width,
        height=processed.height,
        sha256=processed.sha256,
        processed_at=processed_at,
        file_key=content.file_key,
        thumbnails=dict(content.thumbnails),
        display_key=content.display_key,
        digests=dict(content.digests),
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
