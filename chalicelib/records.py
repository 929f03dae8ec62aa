"""DynamoDB adapter for image metadata: the ``Image`` value the services use, and every read and write of it.

PynamoDB exceptions are translated here: ``DoesNotExist`` -> ``ImageNotFound``, a failed condition ->
``ImageNotPending``, anything else -> ``MetadataUnavailable``. State changes are conditional writes
(``pending -> ready | rejected``), so a duplicated or replayed S3 event changes nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, cast

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib import catalog
from chalicelib.contents import ContentChanged, ContentOp
from chalicelib.errors import ImageNotFound, ImageNotPending, InvalidCursor, MetadataUnavailable
from chalicelib.models import ImageRecord, connection

log = logging.getLogger(__name__)

PENDING, READY, REJECTED = "pending", "ready", "rejected"
VISIBILITIES = catalog.VISIBILITIES  # re-exported: the catalog owns the list
DUPLICATE_CANDIDATES = 25  # same-content images looked at per check (keys-only index, then one batch read)


@dataclass(frozen=True)
class Image:
    """Image metadata as the services see it. ``delete_token_hash`` never leaves the service layer."""

    id: str
    status: str
    filename: str
    content_type: str
    size: int
    created_at: str
    visibility: str = catalog.DEFAULT_VISIBILITY
    owner: str | None = None
    width: int | None = None
    height: int | None = None
    sha256: str | None = None
    dhash: str | None = None  # perceptual hash (imaging/fingerprints.py), 16 hex digits
    blurhash: str | None = None  # placeholder painted while a rendition loads
    file_key: str | None = None
    thumbnails: dict[str, str] = field(default_factory=dict)
    delete_token_hash: str | None = None
    processed_at: str | None = None
    reject_reason: str | None = None
    upload_ip: str | None = None
    expires_at: int | None = None
    request_id: str | None = None
    duplicate_of: str | None = None
    upload_id: str | None = None
    part_size: int | None = None
    expected_sha256: str | None = None
    digests: dict[str, str] = field(default_factory=dict)
    display_key: str | None = None
    short_id: str | None = None
    content_id: str | None = None  # the shared renditions it serves (chalicelib/contents.py); None before those
    # Where processing writes this record's renditions (content/{generation}/), chosen with the record so that a
    # retried run overwrites its own crashed attempt; random and never shown to anyone (ADR 0013).
    generation: str | None = None
    # Each thumbnail's companion encodings by size then extension (``{"600": {"webp": key}}``); ``thumbnails``
    # keeps the JPEG (or alpha WebP) every browser shows.
    thumbnail_variants: dict[str, dict[str, str]] = field(default_factory=dict)

    def variant_keys(self) -> list[str]:
        """Every stored key of the thumbnails' companion encodings."""
        return [key for by_format in self.thumbnail_variants.values() for key in by_format.values()]

    @property
    def ref(self) -> str:
        """The image's name in public URLs: its short id, or its id for images from before short ids."""
        return self.short_id or self.id

    @property
    def created_key(self) -> str:
        return f"{self.created_at}#{self.id}"

    def to_cache(self) -> dict[str, Any]:
        """What the metadata cache may hold: everything but secrets and personal data."""
        data = asdict(self)
        data.pop("delete_token_hash")
        data.pop("upload_ip")
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Image:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _to_image(record: ImageRecord) -> Image:
    return Image(
        id=record.id,
        status=record.status,
        filename=record.filename,
        content_type=record.content_type,
        size=int(record.size),
        created_at=record.created_at,
        visibility=record.visibility,
        owner=record.owner,
        width=None if record.width is None else int(record.width),
        height=None if record.height is None else int(record.height),
        sha256=record.sha256,
        dhash=record.dhash,
        blurhash=record.blurhash,
        file_key=record.file_key,
        thumbnails=dict(record.thumbnails.as_dict()) if record.thumbnails is not None else {},
        delete_token_hash=record.delete_token_hash,
        processed_at=record.processed_at,
        reject_reason=record.reject_reason,
        upload_ip=record.upload_ip,
        expires_at=None if record.expires_at is None else int(record.expires_at),
        request_id=record.request_id,
        duplicate_of=record.duplicate_of,
        upload_id=record.upload_id,
        part_size=None if record.part_size is None else int(record.part_size),
        expected_sha256=record.expected_sha256,
        digests=dict(record.digests.as_dict()) if record.digests is not None else {},
        display_key=record.display_key,
        short_id=record.short_id,
        content_id=record.content_id,
        generation=record.generation,
        thumbnail_variants=_variants(record.thumbnail_variants),
    )


def _variants(attribute: Any) -> dict[str, dict[str, str]]:
    raw = attribute.as_dict() if attribute is not None else {}
    return {str(size): {str(ext): str(key) for ext, key in dict(by_format).items()} for size, by_format in raw.items()}


def gallery_shard_for(image: Image, shards: int) -> str | None:
    """The gallery partition of a ready public image; None keeps it out of the (sparse) gallery index."""
    if image.status != READY or image.visibility != "public":
        return None
    return f"public#{zlib.crc32(image.id.encode()) % shards}"


@contextmanager
def _translate(image_id: str) -> Iterator[None]:
    try:
        yield
    except DoesNotExist as exc:
        raise ImageNotFound(id=image_id) from exc
    except PynamoDBException as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise ImageNotPending(id=image_id) from exc
        log.warning("metadata store error", extra={"image_id": image_id, "error": type(exc).__name__})
        raise MetadataUnavailable() from exc


# The order in which PynamoDB sends a transaction's items (``Connection.transact_write_items``); DynamoDB's
# cancellation reasons come in that order, not in the order the items were added.
_SENT_ORDER: Final = ("condition_check", "delete", "save", "update")


class _Recorder:
    """A ``TransactWrite`` that remembers which of its items is the record, to read the cancellation reasons."""

    def __init__(self, transaction: TransactWrite) -> None:
        self.transaction = transaction
        self.added: list[tuple[str, bool]] = []  # (kind, is the record)
        self.record_turn = True

    def save(self, model: Any, condition: Any = None) -> None:
        self.added.append(("save", self.record_turn))
        self.transaction.save(model, condition=condition)

    def update(self, model: Any, actions: list[Action], condition: Any = None) -> None:
        self.added.append(("update", self.record_turn))
        self.transaction.update(model, actions=actions, condition=condition)

    def delete(self, model: Any, condition: Any = None) -> None:
        self.added.append(("delete", self.record_turn))
        self.transaction.delete(model, condition=condition)

    def sent(self) -> list[bool]:
        """For each item in the order sent: whether it is the record."""
        return [is_record for _, is_record in sorted(self.added, key=lambda item: _SENT_ORDER.index(item[0]))]


def _transact(image_id: str, record: Callable[[Any], None], content: ContentOp, *, lost: Exception) -> None:
    """The record's write and a content item's change, all or nothing. A failed record condition raises
    ``lost`` (retrying cannot help); a failed content condition raises ``ContentChanged`` (read again, retry)."""
    region = cast(str, getattr(ImageRecord.Meta, "region", None) or "us-east-1")
    recorder: _Recorder | None = None
    try:
        with TransactWrite(connection=connection(region)) as transaction:
            recorder = _Recorder(transaction)
            record(recorder)
            recorder.record_turn = False
            content(recorder)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        sent = recorder.sent() if recorder is not None else []
        failed = {sent[i] for i, r in enumerate(reasons) if i < len(sent) and r and r.code == "ConditionalCheckFailed"}
        if True in failed:
            raise lost from exc
        if False in failed:
            raise ContentChanged() from exc
        log.warning("metadata transaction failed", extra={"image_id": image_id, "error": exc.cause_response_code})
        raise MetadataUnavailable() from exc


def encode_cursor(created_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": created_key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    if not isinstance(key, str) or "#" not in key:
        raise InvalidCursor()
    return key


@dataclass(frozen=True)
class Page:
    items: list[Image]
    next_cursor: str | None


class ImageRecords:
    """The images table."""

    def __init__(self, gallery_shards: int) -> None:
        self.gallery_shards = gallery_shards

    def get(self, image_id: str) -> Image:
        with _translate(image_id):
            return _to_image(ImageRecord.get(image_id, consistent_read=True))

    def short_id_taken(self, short_id: str) -> bool:
        with _translate(short_id):
            return any(True for _ in ImageRecord.short_id_index.query(short_id, limit=1))

    def id_for_short_id(self, short_id: str) -> str:
        """The image id a short id names (the index is eventually consistent: a just-created image may miss)."""
        with _translate(short_id):
            for record in ImageRecord.short_id_index.query(short_id, limit=1):
                return str(record.id)
        raise ImageNotFound(id=short_id)

    def create(self, image: Image, content: ContentOp | None = None) -> None:
        """Write a new record; the id must be new (ids are random, so a clash means a bug, not a race). With
        ``content``, in one transaction with that change to a content item (``ContentChanged`` if it lost)."""
        record = ImageRecord(
            id=image.id,
            status=image.status,
            visibility=image.visibility,
            owner=image.owner,
            filename=image.filename,
            content_type=image.content_type,
            size=image.size,
            width=image.width,
            height=image.height,
            sha256=image.sha256,
            dhash=image.dhash,
            blurhash=image.blurhash,
            file_key=image.file_key,
            thumbnails=image.thumbnails or None,
            delete_token_hash=image.delete_token_hash,
            created_at=image.created_at,
            created_key=image.created_key,
            processed_at=image.processed_at,
            reject_reason=image.reject_reason,
            upload_ip=image.upload_ip,
            gallery_shard=gallery_shard_for(image, self.gallery_shards),
            expires_at=image.expires_at,
            request_id=image.request_id,
            duplicate_of=image.duplicate_of,
            upload_id=image.upload_id,
            part_size=image.part_size,
            expected_sha256=image.expected_sha256,
            digests=image.digests or None,
            display_key=image.display_key,
            short_id=image.short_id,
            content_id=image.content_id,
            generation=image.generation,
            thumbnail_variants=image.thumbnail_variants or None,
        )
        condition = ImageRecord.id.does_not_exist()
        if content is None:
            with _translate(image.id):
                record.save(condition=condition)
            return
        _transact(image.id, lambda t: t.save(record, condition=condition), content, lost=ImageNotPending(id=image.id))

    def mark_ready(self, pending: Image, ready: Image, content: ContentOp | None = None) -> Image:
        """``pending -> ready`` with the processing results; ``ImageNotPending`` if someone got there first (or
        the record is gone). With ``content``, in one transaction with that change to a content item
        (``ContentChanged`` if that lost a race: nothing was written)."""
        ready = replace(ready, status=READY, expires_at=None)
        if None in (ready.width, ready.height, ready.sha256, ready.file_key, ready.processed_at):
            raise ValueError("a ready image needs its dimensions, digest, file key and processing time")
        shard = gallery_shard_for(ready, self.gallery_shards)
        actions: list[Action] = [
            ImageRecord.status.set(READY),
            ImageRecord.content_type.set(ready.content_type),
            ImageRecord.size.set(ready.size),
            ImageRecord.width.set(cast(int, ready.width)),
            ImageRecord.height.set(cast(int, ready.height)),
            ImageRecord.sha256.set(cast(str, ready.sha256)),
            *([ImageRecord.dhash.set(ready.dhash)] if ready.dhash else []),
            *([ImageRecord.blurhash.set(ready.blurhash)] if ready.blurhash else []),
            ImageRecord.file_key.set(cast(str, ready.file_key)),
            ImageRecord.thumbnails.set(ready.thumbnails),
            ImageRecord.processed_at.set(cast(str, ready.processed_at)),
            ImageRecord.duplicate_of.set(ready.duplicate_of)
            if ready.duplicate_of
            else ImageRecord.duplicate_of.remove(),
            ImageRecord.expires_at.remove(),
            ImageRecord.upload_id.remove(),
            ImageRecord.digests.set(ready.digests) if ready.digests else ImageRecord.digests.remove(),
            ImageRecord.display_key.set(ready.display_key) if ready.display_key else ImageRecord.display_key.remove(),
            ImageRecord.gallery_shard.set(shard) if shard else ImageRecord.gallery_shard.remove(),
            ImageRecord.content_id.set(ready.content_id) if ready.content_id else ImageRecord.content_id.remove(),
            ImageRecord.thumbnail_variants.set(ready.thumbnail_variants)
            if ready.thumbnail_variants
            else ImageRecord.thumbnail_variants.remove(),
        ]
        condition = (ImageRecord.id.exists()) & (ImageRecord.status == PENDING)
        if content is None:
            with _translate(pending.id):
                ImageRecord(id=pending.id).update(actions=actions, condition=condition)
            return ready
        _transact(
            pending.id,
            lambda t: t.update(ImageRecord(id=pending.id), actions=actions, condition=condition),
            content,
            lost=ImageNotPending(id=pending.id),
        )
        return ready

    def hold_pending(self, image_id: str, until: int) -> None:
        """Keep a pending record from expiring before ``until`` (its upload is failing and may be redriven).
        A record that is gone or no longer pending is left alone."""
        try:
            with _translate(image_id):
                ImageRecord(id=image_id).update(
                    actions=[ImageRecord.expires_at.set(until)],
                    condition=(ImageRecord.id.exists()) & (ImageRecord.status == PENDING),
                )
        except ImageNotPending:
            pass

    def mark_rejected(self, pending: Image, reason: str, processed_at: str) -> Image:
        with _translate(pending.id):
            ImageRecord(id=pending.id).update(
                actions=[
                    ImageRecord.status.set(REJECTED),
                    ImageRecord.reject_reason.set(reason),
                    ImageRecord.processed_at.set(processed_at),
                    ImageRecord.gallery_shard.remove(),
                ],
                condition=(ImageRecord.id.exists()) & (ImageRecord.status == PENDING),
            )
        return replace(pending, status=REJECTED, reject_reason=reason, processed_at=processed_at)

    def set_fingerprints(self, image_id: str, *, file_key: str, dhash: str, blurhash: str) -> None:
        """Record the perceptual hash and the placeholder of a ready image that has none (images from before they
        existed: ``scripts/sweep``). Only while it is still ready with the served file they were computed from;
        otherwise ``ImageNotPending`` (the image changed or went meanwhile)."""
        with _translate(image_id):
            ImageRecord(id=image_id).update(
                actions=[ImageRecord.dhash.set(dhash), ImageRecord.blurhash.set(blurhash)],
                condition=(ImageRecord.status == READY) & (ImageRecord.file_key == file_key),
            )

    def set_visibility(
        self,
        image: Image,
        visibility: str,
        *,
        file_key: str | None = None,
        thumbnails: dict[str, str] | None = None,
        display_key: str | None = None,
        thumbnail_variants: dict[str, dict[str, str]] | None = None,
    ) -> Image:
        """Change the visibility and, when the renditions moved with it, the keys that name them."""
        updated = replace(image, visibility=visibility)
        if file_key is not None:
            updated = replace(updated, file_key=file_key)
        if thumbnails is not None:
            updated = replace(updated, thumbnails=dict(thumbnails))
        if display_key is not None:
            updated = replace(updated, display_key=display_key)
        if thumbnail_variants is not None:
            updated = replace(updated, thumbnail_variants=thumbnail_variants)
        shard = gallery_shard_for(updated, self.gallery_shards)
        actions: list[Action] = [
            ImageRecord.visibility.set(visibility),
            ImageRecord.gallery_shard.set(shard) if shard else ImageRecord.gallery_shard.remove(),
        ]
        if file_key is not None:
            actions.append(ImageRecord.file_key.set(file_key))
        if thumbnails:
            actions.append(ImageRecord.thumbnails.set(dict(thumbnails)))
        if display_key is not None:
            actions.append(ImageRecord.display_key.set(display_key))
        if thumbnail_variants:
            actions.append(ImageRecord.thumbnail_variants.set(thumbnail_variants))
        with _translate(image.id):
            ImageRecord(id=image.id).update(actions=actions, condition=ImageRecord.id.exists())
        return updated

    def delete(self, image_id: str, content: ContentOp | None = None) -> None:
        """Remove the record. With ``content`` (its reference given back), in one transaction; then a record
        already gone is ``ImageNotFound`` (a concurrent delete gave the reference back already)."""
        if content is None:
            with _translate(image_id):
                ImageRecord(id=image_id).delete()
            return
        _transact(
            image_id,
            lambda t: t.delete(ImageRecord(id=image_id), condition=ImageRecord.id.exists()),
            content,
            lost=ImageNotFound(id=image_id),
        )

    def gallery_page(self, limit: int, cursor: str | None) -> Page:
        """Newest public images first, merged from every gallery shard."""
        before = decode_cursor(cursor) if cursor else None
        per_shard: list[list[Image]] = []
        with _translate("gallery"):
            for shard in range(self.gallery_shards):
                condition = ImageRecord.created_key < before if before else None
                results = ImageRecord.gallery_index.query(
                    f"public#{shard}",
                    range_key_condition=condition,
                    scan_index_forward=False,
                    limit=limit + 1,
                )
                per_shard.append([_to_image(r) for r in results])
        merged = heapq.merge(*per_shard, key=lambda image: image.created_key, reverse=True)
        items = [image for _, image in zip(range(limit + 1), merged, strict=False)]
        return _page(items, limit)

    def owner_page(self, owner: str, limit: int, cursor: str | None) -> Page:
        before = decode_cursor(cursor) if cursor else None
        with _translate(owner):
            condition = ImageRecord.created_key < before if before else None
            results = ImageRecord.owner_index.query(
                owner, range_key_condition=condition, scan_index_forward=False, limit=limit + 1
            )
            items = [_to_image(r) for r in results]
        return _page(items, limit)

    def find_duplicate(self, image: Image, sha256: str) -> str | None:
        """The id of the owner's earliest other ready image with these exact bytes; None for anonymous images.

        Only the owner's own images count: telling someone that a stranger uploaded the same file would leak it.
        """
        if image.owner is None:
            return None
        with _translate(sha256):
            candidates = ImageRecord.sha256_index.query(sha256, limit=DUPLICATE_CANDIDATES)
            ids = [r.id for r in candidates if r.id != image.id]
            if not ids:
                return None
            mine = [r for r in ImageRecord.batch_get(ids) if r.owner == image.owner and r.status == READY]
        return min(mine, key=lambda r: r.created_key).id if mine else None

    def owner_fingerprints(self, owner: str, limit: int) -> list[tuple[str, str]]:
        """``(id, dhash)`` of those of the owner's newest ``limit`` images that are ready and have a perceptual hash.

        The owner index only (never a scan, never another owner's images); exactly ``limit`` items at most are
        read (no server-side filter, which would read on past them), three attributes each.
        """
        with _translate(owner):
            results = ImageRecord.owner_index.query(
                owner, scan_index_forward=False, limit=limit, attributes_to_get=["id", "dhash", "status"]
            )
            return [(str(r.id), str(r.dhash)) for r in results if r.status == READY and r.dhash]

    def get_many(self, image_ids: list[str]) -> dict[str, Image]:
        """The records of ``image_ids`` that exist (one batch read; missing ids are left out)."""
        if not image_ids:
            return {}
        with _translate("batch"):
            return {record.id: _to_image(record) for record in ImageRecord.batch_get(image_ids)}

    def ping(self) -> None:
        with _translate("health"):
            ImageRecord.describe_table()


def _page(items: list[Image], limit: int) -> Page:
    if len(items) > limit:
        return Page(items=items[:limit], next_cursor=encode_cursor(items[limit - 1].created_key))
    return Page(items=items, next_cursor=None)
