"""The image lifecycle rules: request an upload, upload through the API, read, link, list, delete.

Raises ``AppError``s only. Who may see what:
- ``public`` and ``unlisted`` images are readable by anyone with the id; only ``public`` ones are in the gallery.
- ``private`` images exist only for their owner: everyone else gets ``IMAGE_NOT_FOUND`` (not 403, which would
  confirm the id exists).
- Deleting takes the owner's identity, or the delete token handed out once at upload (stored as a SHA-256 and
  compared in constant time).
- Visibility is chosen at creation (default ``public``; ``private`` needs a signed-in owner) and changed by the
  owner only.
- Quotas: an owned image is counted against its owner (``Quota.reserve``) before its record is written, with
  the claimed size for upload-url and the served size for API uploads, and released when it is deleted. The
  counters are bookkeeping: a failure to release never blocks a delete, and a refused reservation first
  recounts from the owner index (pending uploads that never arrived expire without a decrement).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from chalicelib import catalog, delivery
from chalicelib.cache.metadata import CacheStatus, MetadataCache
from chalicelib.contents import ContentChanged, Contents, new_cref
from chalicelib.errors import (
    AuthenticationRequired,
    DeleteTokenRequired,
    FileTooLarge,
    ImageNotFound,
    InvalidDeleteToken,
    InvalidImage,
    MetadataUnavailable,
    NotOwner,
    QuotaExceeded,
    RejectReason,
    StorageQuotaExceeded,
    ThumbnailNotReady,
    ValidationFailed,
)
from chalicelib.invalidation import NoInvalidation
from chalicelib.records import PENDING, READY, REJECTED, VISIBILITIES, Image, ImageRecords, Page
from chalicelib.services.ingest import Ingest
from chalicelib.services.placement import PRIVATE_CACHE_CONTROL, Placement, is_public
from chalicelib.services.ports import Clock, Metrics, Quota, utc_now_iso
from chalicelib.settings import Settings
from chalicelib.storage import Storage, content_prefix, cref_of, original_key, sha256_b64_from_hex

log = logging.getLogger(__name__)

MAX_FILENAME_CHARS = catalog.FILENAME_MAX_CHARS
SHORT_ID_ATTEMPTS = 5
_WHITESPACE = re.compile(r"\s+")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def sanitize_filename(raw: object) -> str:
    """A display name safe for JSON, logs and a Content-Disposition header.

    Keeps the last path part only, drops control and format characters (CR/LF header injection, bidi
    overrides), quotes and backslashes, folds whitespace, trims leading dots, and bounds the length.
    """
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"} and ch not in '"\\'
    )
    text = _WHITESPACE.sub(" ", text).strip().lstrip(".").strip()
    if len(text) > MAX_FILENAME_CHARS:
        _stem, dot, ext = text.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        text = (text[: MAX_FILENAME_CHARS - len(keep) - 1] + "." + keep) if keep else text[:MAX_FILENAME_CHARS]
    return text or "image"


def check_sha256_hex(value: object) -> str | None:
    """An optional declared SHA-256 of a whole file: 64 hex digits (returned lower-cased), or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise ValidationFailed("sha256 must be the file's SHA-256 as 64 hex digits.", field="sha256")
    return value.lower()


def hash_delete_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _link_cache_control(image: Image) -> str | None:
    """A private image's presigned links are for one viewer, whatever the shared object says."""
    return None if is_public(image.visibility) else PRIVATE_CACHE_CONTROL


def _new_delete_token(viewer: Viewer) -> str | None:
    """Anonymous uploads get a delete token, shown once; a signed-in owner needs none."""
    return None if viewer.user_id else secrets.token_urlsafe(32)


@dataclass(frozen=True)
class UploadTicket:
    image: Image
    url: str
    fields: dict[str, str]
    expires_at: int
    delete_token: str | None


@dataclass(frozen=True)
class OwnerLinks:
    """Short-lived presigned URLs of a ready image, made for its owner (``thumbnails`` keyed by size name)."""

    file: str
    thumbnails: dict[str, str]
    expires_in: int
    display: str | None = None  # the display rendition (HEIC, AVIF): what a page shows; ``file`` is the original


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a user id (signed in) or nobody, and the address API Gateway saw."""

    user_id: str | None = None
    source_ip: str | None = None
    request_id: str | None = None


ANONYMOUS = Viewer()


def check_visibility(visibility: object, viewer: Viewer) -> str:
    """The visibility asked for at upload (default ``public``); ``private`` only for a signed-in owner."""
    if visibility is None or visibility == "":
        return catalog.DEFAULT_VISIBILITY
    if visibility not in VISIBILITIES:
        raise ValidationFailed(
            "visibility must be one of: " + ", ".join(VISIBILITIES), field="visibility", allowed=list(VISIBILITIES)
        )
    if visibility == "private" and viewer.user_id is None:
        # Nobody could ever see an anonymous private image.
        raise AuthenticationRequired("Sign in to upload private images.", field="visibility")
    return str(visibility)


class ImageService:
    def __init__(
        self,
        settings: Settings,
        records: ImageRecords,
        storage: Storage,
        cache: MetadataCache,
        clock: Clock,
        metrics: Metrics,
        quota: Quota | None = None,
        placement: Placement | None = None,
    ) -> None:
        self.settings = settings
        self.placement = placement or Placement(storage, NoInvalidation())
        self.records = records
        self.storage = storage
        self.cache = cache
        self.clock = clock
        self.quota = quota
        self.contents = Contents()
        self.ingest = Ingest(settings, records, storage, metrics, self.contents)

    # --- create -----------------------------------------------------------------------------------

    def request_upload(
        self,
        *,
        filename: object,
        content_type: object,
        size: object,
        viewer: Viewer,
        visibility: object = None,
        sha256: object = None,
    ) -> UploadTicket:
        """Write a ``pending`` record and hand out a presigned POST bound to its key, type and size (and the
        file's SHA-256 when the uploader declared one: the store then refuses other bytes)."""
        image, token = self.plan_pending(
            filename=filename, content_type=content_type, size=size, viewer=viewer, visibility=visibility, sha256=sha256
        )
        self.save_pending(image)
        post = self.storage.presign_upload(
            original_key(image.id),
            content_type=image.content_type,
            size=image.size,
            expires_seconds=self.settings.upload_url_expires_seconds,
            sha256_b64=sha256_b64_from_hex(image.expected_sha256) if image.expected_sha256 else None,
        )
        return UploadTicket(
            image=image,
            url=post.url,
            fields=post.fields,
            expires_at=int(self.clock()) + self.settings.upload_url_expires_seconds,
            delete_token=token,
        )

    def plan_pending(
        self,
        *,
        filename: object,
        content_type: object,
        size: object,
        viewer: Viewer,
        visibility: object = None,
        sha256: object = None,
    ) -> tuple[Image, str | None]:
        """Check an upload request and build its ``pending`` record (not yet written); returns (image, token)."""
        claimed_type = self._check_claimed_type(content_type)
        claimed_size = self._check_claimed_size(size, self.settings.max_upload_bytes)
        chosen_visibility = check_visibility(visibility, viewer)
        expected_sha256 = check_sha256_hex(sha256)
        now = self.clock()
        token = _new_delete_token(viewer)
        image = Image(
            id=str(uuid.uuid4()),
            status=PENDING,
            filename=sanitize_filename(filename),
            content_type=claimed_type,
            size=claimed_size,
            created_at=utc_now_iso(self.clock),
            visibility=chosen_visibility,
            owner=viewer.user_id,
            delete_token_hash=hash_delete_token(token) if token else None,
            upload_ip=viewer.source_ip,
            # DynamoDB's TTL removes a pending upload that never arrives (lazily, within a day or two; reads
            # treat an expired pending record as gone straight away).
            expires_at=int(now) + self.settings.pending_ttl_seconds,
            request_id=viewer.request_id,
            expected_sha256=expected_sha256,
            short_id=self._new_short_id(),
            generation=new_cref(),
        )
        return image, token

    def save_pending(self, image: Image) -> None:
        """Count the pending upload against its owner's quota and write its record."""
        with self._reserved(image.owner, image.size):
            self.records.create(image)

    def upload(
        self, *, data: bytes, filename: object, viewer: Viewer, visibility: object = None
    ) -> tuple[Image, str | None]:
        """Upload through the API: validate and process inline, then store; returns (image, delete token).

        Small files only (``API_UPLOAD_MAX_BYTES``). Everything is checked before anything is stored, and a
        storage failure removes what was written: a bad or failed upload leaves nothing behind.
        """
        if len(data) > self.settings.api_upload_max_bytes:
            raise FileTooLarge(
                size=len(data),
                max_bytes=self.settings.api_upload_max_bytes,
                hint="Use POST /api/v1/images/upload-url for larger files.",
            )
        chosen_visibility = check_visibility(visibility, viewer)
        processed = self.ingest.process(data, max_bytes=self.settings.api_upload_max_bytes)
        token = _new_delete_token(viewer)
        now = utc_now_iso(self.clock)
        image = Image(
            id=str(uuid.uuid4()),
            status=READY,
            filename=sanitize_filename(filename),
            content_type=processed.content_type,
            size=len(data),
            created_at=now,
            visibility=chosen_visibility,
            owner=viewer.user_id,
            delete_token_hash=hash_delete_token(token) if token else None,
            upload_ip=viewer.source_ip,
            request_id=viewer.request_id,
            short_id=self._new_short_id(),
            generation=new_cref(),
        )
        # Counted at the size the record will carry (the served copy), so deleting releases exactly this much.
        with self._reserved(image.owner, len(processed.served.data)):
            image = self.ingest.store(
                image,
                processed,
                processed_at=now,
                commit=self.records.create,
                path="api",
                upload_bytes=len(data),
            )
        return image, token

    def _new_short_id(self) -> str:
        """A short id no image has yet. 64 random bits collide rarely but not never at our volume (a first
        collision becomes likely within two years at 10 M uploads a day, docs/capacity.md), so each is checked;
        the check's race window is a few milliseconds of index lag, against a 2^-64 chance per pair."""
        for _ in range(SHORT_ID_ATTEMPTS):
            candidate = delivery.new_short_id()
            if not self.records.short_id_taken(candidate):
                return candidate
        raise MetadataUnavailable()

    # --- read -------------------------------------------------------------------------------------

    def image_id(self, ref: str) -> str:
        """The id an image reference names: a short id is looked up, anything else is taken as the id itself."""
        return self.records.id_for_short_id(ref) if delivery.is_short_id(ref) else ref

    def get(self, image_id: str, viewer: Viewer = ANONYMOUS) -> tuple[Image, CacheStatus]:
        """The image ``image_id`` names (its id or its short id) if ``viewer`` may see it."""
        image_id = self.image_id(image_id)
        cached, status = self.cache.get(image_id)
        if cached is not None:
            image = Image.from_cache(cached)
        else:
            image = self.records.get(image_id)
            self.cache.set(image_id, image.to_cache())
        self._check_can_see(image, viewer)
        return image, status

    def file_url(self, image_id: str, viewer: Viewer = ANONYMOUS, *, original: bool = False) -> str:
        """The file people are shown: the display rendition when the format has one (browsers cannot show
        HEIC), else the served copy. ``original``: the served copy itself (scrubbed), for its owner."""
        image, _ = self.get(image_id, viewer)
        if image.status != READY or not image.file_key:
            raise ImageNotFound(id=image_id, status=image.status)
        if original and image.display_key and (viewer.user_id is None or image.owner != viewer.user_id):
            raise NotOwner(id=image_id)
        expires = self.settings.download_url_expires_seconds
        cache = _link_cache_control(image)
        if image.display_key and not original:
            stem = image.filename.rsplit(".", 1)[0] if "." in image.filename else image.filename
            extension = image.display_key.rsplit(".", 1)[-1]
            return self.storage.presign_get(
                image.display_key, expires_seconds=expires, filename=f"{stem}.{extension}", cache_control=cache
            )
        return self.storage.presign_get(
            image.file_key, expires_seconds=expires, filename=image.filename, cache_control=cache
        )

    def thumbnail_url(self, image_id: str, size: object, viewer: Viewer = ANONYMOUS) -> str:
        wanted = self._check_thumbnail_size(size)
        image, _ = self.get(image_id, viewer)
        key = image.thumbnails.get(str(wanted))
        if image.status != READY or not key:
            raise ThumbnailNotReady(id=image_id, status=image.status)
        return self.storage.presign_get(
            key, expires_seconds=self.settings.download_url_expires_seconds, cache_control=_link_cache_control(image)
        )

    def gallery(self, *, limit: object, cursor: str | None) -> Page:
        return self.records.gallery_page(self._check_limit(limit), cursor)

    def owner_links(self, image: Image, viewer: Viewer) -> OwnerLinks | None:
        """Short-lived presigned URLs of a ready image, for its owner only, else None.

        The web page shows a private image with ``<img src>``, which cannot send a bearer token, so the owner's
        metadata carries the links themselves (made per request, never cached: they expire).
        """
        if image.status != READY or not image.file_key or viewer.user_id is None or image.owner != viewer.user_id:
            return None
        expires = self.settings.download_url_expires_seconds
        cache = _link_cache_control(image)
        return OwnerLinks(
            file=self.storage.presign_get(
                image.file_key, expires_seconds=expires, filename=image.filename, cache_control=cache
            ),
            display=self.storage.presign_get(image.display_key, expires_seconds=expires, cache_control=cache)
            if image.display_key
            else None,
            thumbnails={
                size: self.storage.presign_get(key, expires_seconds=expires, cache_control=cache)
                for size, key in image.thumbnails.items()
            },
            expires_in=expires,
        )

    def owned_by(self, owner: str, *, limit: object, cursor: str | None) -> Page:
        return self.records.owner_page(owner, self._check_limit(limit), cursor)

    # --- change -----------------------------------------------------------------------------------

    def delete(self, image_id: str, *, viewer: Viewer, delete_token: str | None) -> None:
        """Remove the record and give back its reference to the shared content; the content's objects go with
        the last reference. The owner needs no token; anyone else needs the right one."""
        image = self._get_fresh(image_id, viewer)
        self._check_can_delete(image, viewer, delete_token)
        cref = cref_of(image.file_key)
        if image.content_id and cref:
            self._release_content(image, image.content_id, cref)
        else:
            # Images from before content addressing own their objects alone (a single reference).
            keys = [original_key(image.id), *image.thumbnails.values()]
            keys += [key for key in (image.file_key, image.display_key) if key]
            keys += image.variant_keys()
            # Record first: once it is gone nothing serves the image, and a crash before the objects go leaves
            # only orphans the sweeper removes (the processor also deletes an original it finds no record for).
            self.records.delete(image.id)
            self.cache.invalidate(image.id)
            self._release(image)
            self.storage.delete(keys)
        self.placement.forget(image)

    def _release_content(self, image: Image, content_id: str, cref: str) -> None:
        """One transaction removes the record and a reference; if that was the last, the item goes (conditional:
        nobody took it again) and only then its generation's objects. A crash in between leaves objects without
        an item, which the sweeper removes; never an item or a record without its objects."""
        try:
            self.records.delete(image.id, self.contents.release_op(content_id, cref))
        except ContentChanged:
            # The item is gone or another generation (only a repair could have done that): the record goes
            # alone, and the sweeper reconciles the counts.
            log.warning("content item disagrees with its record", extra={"image_id": image.id})
            self.records.delete(image.id)
        self.cache.invalidate(image.id)
        self._release(image)
        self.storage.delete([original_key(image.id)])
        if self.contents.remove_if_unreferenced(content_id, cref):
            self.storage.delete(self.storage.keys_under(content_prefix(cref)))

    def set_visibility(self, image_id: str, *, viewer: Viewer, visibility: object) -> Image:
        """A write to the record only: the edge reads the record on every miss, so nothing moves. Leaving the
        public side invalidates the CDN's copies (repeated on a retry after a 503)."""
        if visibility not in VISIBILITIES:
            raise ValidationFailed("visibility must be one of: " + ", ".join(VISIBILITIES), field="visibility")
        image = self._get_fresh(image_id, viewer)
        if viewer.user_id is None or image.owner != viewer.user_id:
            raise NotOwner(id=image_id)
        chosen = str(visibility)
        updated = self.records.set_visibility(image, chosen)
        self.cache.invalidate(image.id)
        if image.status == READY:
            self.placement.changed(updated, public=is_public(chosen))
        return updated

    # --- quota ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reserved(self, owner: str | None, size: int) -> Iterator[None]:
        """Count an owned image before it is written; give the reservation back if writing fails."""
        if owner is None or self.quota is None:
            yield
            return
        try:
            self.quota.reserve(owner, size)
        except (QuotaExceeded, StorageQuotaExceeded):
            # Before refusing, recount: the counters may hold uploads that never arrived (their pending records
            # expired) or claimed sizes the processor corrected. Only refusals pay for the recount.
            self.quota.reconcile(owner, *self._usage(owner))
            self.quota.reserve(owner, size)
        try:
            yield
        except BaseException:
            self.quota.release(owner, size)
            raise

    def _usage(self, owner: str) -> tuple[int, int]:
        """(images, bytes) the owner really has: every record in the owner index but expired pending ones."""
        count = total = 0
        cursor: str | None = None
        while True:
            page = self.records.owner_page(owner, self.settings.page_size_max, cursor)
            for image in page.items:
                if image.status == PENDING and image.expires_at is not None and image.expires_at < self.clock():
                    continue
                if image.status == REJECTED:  # the processor gave its reservation back
                    continue
                count += 1
                total += image.size
            if page.next_cursor is None:
                return count, total
            cursor = page.next_cursor

    def _release(self, image: Image) -> None:
        if image.owner is None or self.quota is None or image.status == REJECTED:  # rejected: released already
            return
        try:
            self.quota.release(image.owner, image.size)
        except Exception:
            # The image is already gone; a stale counter is the lesser harm (and it only ever over-counts).
            log.exception("could not release quota", extra={"image_id": image.id, "owner": image.owner})

    # --- checks -----------------------------------------------------------------------------------

    def _get_fresh(self, image_id: str, viewer: Viewer) -> Image:
        image = self.records.get(self.image_id(image_id))
        self._check_can_see(image, viewer)
        return image

    def _check_can_see(self, image: Image, viewer: Viewer) -> None:
        expired_pending = image.status == PENDING and image.expires_at is not None and image.expires_at < self.clock()
        private_to_someone_else = image.visibility == "private" and (
            viewer.user_id is None or viewer.user_id != image.owner
        )
        if expired_pending or private_to_someone_else:
            raise ImageNotFound(id=image.id)

    @staticmethod
    def _check_can_delete(image: Image, viewer: Viewer, delete_token: str | None) -> None:
        if viewer.user_id is not None and image.owner == viewer.user_id:
            return
        if image.owner is not None:
            # Owned images have no delete token: only the owner deletes them.
            raise NotOwner(id=image.id)
        if not delete_token:
            raise DeleteTokenRequired(id=image.id)
        if not hmac.compare_digest(hash_delete_token(delete_token), image.delete_token_hash or ""):
            raise InvalidDeleteToken(id=image.id)

    @staticmethod
    def _check_claimed_type(content_type: object) -> str:
        if not isinstance(content_type, str) or not content_type.strip():
            raise ValidationFailed("content_type is required.", field="content_type")
        normalized = content_type.split(";")[0].strip().lower()
        # Upload forms only for the formats this build decodes (AVIF only where Pillow has it); the processor
        # still decides by content.
        uploadable = catalog.accepted_mime_types()
        if normalized not in uploadable:
            raise InvalidImage(
                RejectReason.UNSUPPORTED_FORMAT,
                f"Content type {normalized!r} is not accepted.",
                allowed=sorted(uploadable),
            )
        return normalized

    @staticmethod
    def _check_claimed_size(size: object, max_bytes: int) -> int:
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValidationFailed("size must be an integer number of bytes.", field="size")
        if size < 1:
            raise ValidationFailed("size must be at least 1 byte.", field="size")
        if size > max_bytes:
            raise FileTooLarge(size=size, max_bytes=max_bytes)
        return size

    def _check_limit(self, limit: object) -> int:
        if limit is None or limit == "":
            return self.settings.page_size_default
        try:
            value = int(str(limit))
        except ValueError as exc:
            raise ValidationFailed("limit must be an integer.", field="limit") from exc
        if not 1 <= value <= self.settings.page_size_max:
            raise ValidationFailed(f"limit must be between 1 and {self.settings.page_size_max}.", field="limit")
        return value

    @staticmethod
    def _check_thumbnail_size(size: object) -> int:
        if size is None or size == "":
            return catalog.DEFAULT_THUMBNAIL_SIZE
        try:
            value = int(str(size))
        except ValueError:
            value = -1
        if value not in catalog.THUMBNAIL_SIZES:
            raise ValidationFailed(
                "size must be one of " + ", ".join(str(s) for s in sorted(catalog.THUMBNAIL_SIZES)) + ".",
                field="size",
                allowed=sorted(catalog.THUMBNAIL_SIZES),
            )
        return value
