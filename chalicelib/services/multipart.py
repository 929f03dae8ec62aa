"""Large files: S3 multipart uploads whose parts the browser (or the CLI) sends straight to the store.

create -> sign parts -> (list parts, to resume) -> complete | abort. The API never carries the bytes: it opens
the upload, mints a presigned UploadPart URL per part with that part's SHA-256 in the signed headers (so the
store refuses a corrupted part), and at the end asks the store which parts it holds and joins them. The object
then lands at ``originals/{id}`` and the processor takes it from there, exactly as for a presigned POST.

The pending record carries the upload id and the part size; like upload-url, creating one is rate limited by
the route, counted against the owner's quota at the claimed size, and expires if never finished. Who may touch
an upload: its owner, or for anonymous uploads whoever holds the delete token handed out at creation.

Size bound: there is no policy condition for multipart, so ``complete`` checks against the store that every
planned part is there with its planned size (the total is the declared size, itself within MAX_UPLOAD_BYTES);
the processor re-checks the object's size when it reads it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from chalicelib.cache.metadata import MetadataCache
from chalicelib.errors import ImageNotFound, ImageNotPending, ValidationFailed
from chalicelib.records import PENDING, Image, ImageRecords
from chalicelib.services.images import ImageService, Viewer
from chalicelib.settings import Settings
from chalicelib.storage import Storage, StoredPart, is_sha256_b64, original_key

log = logging.getLogger(__name__)

MAX_PARTS_PER_SIGNING = 100  # one call signs at most this many parts (bounded work per request)
CHECKSUM_HEADER = "x-amz-checksum-sha256"


@dataclass(frozen=True)
class MultipartTicket:
    image: Image
    upload_id: str
    part_size: int
    part_count: int
    expires_at: int
    delete_token: str | None


@dataclass(frozen=True)
class SignedPart:
    part_number: int
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class MultipartState:
    """What a client needs to resume: the plan and the parts the store already holds."""

    image: Image
    upload_id: str
    part_size: int
    part_count: int
    parts: list[StoredPart]


def part_count(size: int, part_size: int) -> int:
    return max(1, math.ceil(size / part_size))


def planned_size(part_number: int, size: int, part_size: int) -> int:
    """The size part ``part_number`` must have: ``part_size``, except the last, which holds the rest."""
    count = part_count(size, part_size)
    return part_size if part_number < count else size - part_size * (count - 1)


class MultipartService:
    def __init__(
        self,
        settings: Settings,
        images: ImageService,
        records: ImageRecords,
        storage: Storage,
        cache: MetadataCache,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.images = images
        self.records = records
        self.storage = storage
        self.cache = cache
        self.clock = clock

    def create(
        self,
        *,
        filename: object,
        content_type: object,
        size: object,
        viewer: Viewer,
        visibility: object = None,
        sha256: object = None,
    ) -> MultipartTicket:
        """Open a multipart upload for a pending image; everything is checked before anything is created."""
        image, token = self.images.plan_pending(
            filename=filename, content_type=content_type, size=size, viewer=viewer, visibility=visibility, sha256=sha256
        )
        key = original_key(image.id)
        part_size = self.settings.multipart_part_bytes
        upload_id = self.storage.create_multipart(key, content_type=image.content_type)
        image = replace(image, upload_id=upload_id, part_size=part_size)
        try:
            self.images.save_pending(image)
        except Exception:
            # No record (quota refused, metadata store down): leave no open upload behind either.
            self.storage.abort_multipart(key, upload_id)
            raise
        log.info("multipart upload opened", extra={"image_id": image.id, "bytes": image.size})
        return MultipartTicket(
            image=image,
            upload_id=upload_id,
            part_size=part_size,
            part_count=part_count(image.size, part_size),
            expires_at=image.expires_at or 0,
            delete_token=token,
        )

    def sign_parts(
        self, image_id: str, parts: object, *, viewer: Viewer, delete_token: str | None
    ) -> tuple[list[SignedPart], int]:
        """Presigned UploadPart URLs, each bound to its part's SHA-256; returns (parts, expires_at)."""
        image = self._open_upload(image_id, viewer, delete_token)
        wanted = _check_part_requests(parts, part_count(image.size, _part_size(image)))
        expires = self.settings.upload_url_expires_seconds
        signed = [
            SignedPart(
                part_number=number,
                url=self.storage.presign_part(
                    original_key(image.id), _upload_id(image), number, sha256_b64=checksum, expires_seconds=expires
                ),
                headers={CHECKSUM_HEADER: checksum},
            )
            for number, checksum in wanted
        ]
        return signed, int(self.clock()) + expires

    def state(self, image_id: str, *, viewer: Viewer, delete_token: str | None) -> MultipartState:
        image = self._open_upload(image_id, viewer, delete_token)
        parts = self._stored_parts(image)
        return MultipartState(
            image=image,
            upload_id=_upload_id(image),
            part_size=_part_size(image),
            part_count=part_count(image.size, _part_size(image)),
            parts=parts,
        )

    def complete(self, image_id: str, parts: object, *, viewer: Viewer, delete_token: str | None) -> Image:
        """Join the parts once the store holds every planned one with its planned size.

        ``parts`` (``[{part_number, etag}]``) is optional: the store's own list is the truth either way, and a
        client-sent etag that disagrees with it is refused (the client would be completing bytes it did not
        send). A refused completion leaves the upload open, so the client can resume.
        """
        image = self._open_upload(image_id, viewer, delete_token)
        stored = {part.part_number: part for part in self._stored_parts(image)}
        _check_claimed_etags(parts, stored)
        size, part_size = image.size, _part_size(image)
        count = part_count(size, part_size)
        missing = [n for n in range(1, count + 1) if n not in stored]
        if missing:
            raise ValidationFailed(
                f"{len(missing)} of {count} parts have not been uploaded yet.",
                reason="PARTS_MISSING",
                missing=missing[:100],
            )
        wrong = [n for n in range(1, count + 1) if stored[n].size != planned_size(n, size, part_size)]
        extra = sorted(n for n in stored if n > count)
        if wrong or extra:
            raise ValidationFailed(
                "Some parts do not have their planned size; upload them again.",
                reason="PARTS_WRONG_SIZE",
                wrong_size=wrong[:100],
                unexpected=extra[:100],
            )
        self.storage.complete_multipart(
            original_key(image.id), _upload_id(image), [stored[n] for n in range(1, count + 1)]
        )
        self.cache.invalidate(image.id)
        log.info("multipart upload completed", extra={"image_id": image.id, "parts": count})
        return image

    def abort(self, image_id: str, *, viewer: Viewer, delete_token: str | None) -> None:
        """Drop the upload's parts and its pending record. Idempotent: an upload already gone is fine."""
        try:
            image = self.records.get(image_id)
        except ImageNotFound:
            return
        ImageService._check_can_delete(image, viewer, delete_token)
        if image.status != PENDING or image.upload_id is None:
            raise ImageNotPending(id=image_id, status=image.status)
        # Parts first: if removing the record then fails, a retry still finds the record and tries again.
        self.storage.abort_multipart(original_key(image.id), image.upload_id)
        self.images.delete(image_id, viewer=viewer, delete_token=delete_token)

    # --- helpers ----------------------------------------------------------------------------------

    def _open_upload(self, image_id: str, viewer: Viewer, delete_token: str | None) -> Image:
        image = self.records.get(image_id)
        expired = image.expires_at is not None and image.expires_at < self.clock()
        if image.status == PENDING and (expired or image.upload_id is None):
            raise ImageNotFound(id=image_id, reason="no open multipart upload")
        if image.visibility == "private" and viewer.user_id != image.owner:
            raise ImageNotFound(id=image_id)  # as everywhere: a private image does not exist for anyone else
        ImageService._check_can_delete(image, viewer, delete_token)
        if image.status != PENDING:
            raise ImageNotPending(id=image_id, status=image.status)
        return image

    def _stored_parts(self, image: Image) -> list[StoredPart]:
        try:
            return self.storage.list_parts(original_key(image.id), _upload_id(image))
        except ImageNotFound as exc:
            # The record says pending but the store has no such upload: completed and being processed, or
            # aborted by the lifecycle rule. Either way it can no longer be resumed.
            raise ImageNotPending(id=image.id, status=image.status, reason="the upload is closed") from exc


def _upload_id(image: Image) -> str:
    if image.upload_id is None:  # pragma: no cover - _open_upload refuses these
        raise ImageNotFound(id=image.id)
    return image.upload_id


def _part_size(image: Image) -> int:
    return image.part_size or image.size


def _check_part_requests(parts: object, count: int) -> list[tuple[int, str]]:
    if not isinstance(parts, list) or not parts:
        raise ValidationFailed("parts must be a non-empty list of {part_number, sha256_b64}.", field="parts")
    if len(parts) > MAX_PARTS_PER_SIGNING:
        raise ValidationFailed(
            f"Sign at most {MAX_PARTS_PER_SIGNING} parts per request.", field="parts", max=MAX_PARTS_PER_SIGNING
        )
    wanted: dict[int, str] = {}
    for entry in parts:
        number = entry.get("part_number") if isinstance(entry, Mapping) else None
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            raise ValidationFailed(
                f"part_number must be an integer from 1 to {count}.", field="part_number", part_count=count
            )
        checksum = entry.get("sha256_b64") if isinstance(entry, Mapping) else None
        if not is_sha256_b64(checksum):
            raise ValidationFailed(
                "sha256_b64 must be the part's SHA-256 in base64 (44 characters).",
                field="sha256_b64",
                part_number=number,
            )
        wanted[number] = str(checksum)
    return sorted(wanted.items())


def _check_claimed_etags(parts: object, stored: Mapping[int, StoredPart]) -> None:
    if parts is None or parts == [] or parts == {}:
        return
    if not isinstance(parts, Sequence) or isinstance(parts, str):
        raise ValidationFailed("parts must be a list of {part_number, etag}.", field="parts")
    for entry in parts:
        if not isinstance(entry, Mapping):
            raise ValidationFailed("parts must be a list of {part_number, etag}.", field="parts")
        number, etag = entry.get("part_number"), entry.get("etag")
        held = stored.get(number) if isinstance(number, int) else None
        if held is not None and isinstance(etag, str) and _same_etag(etag, held.etag):
            continue
        raise ValidationFailed(
            "A listed part does not match what the store holds; list the parts and upload that one again.",
            reason="PART_MISMATCH",
            part_number=number if isinstance(number, int) else None,
        )


def _same_etag(a: str, b: str) -> bool:
    return a.strip().strip('"') == b.strip().strip('"')
