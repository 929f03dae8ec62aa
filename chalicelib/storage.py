"""S3 adapter: object keys, reads, writes, deletes and presigned URLs. botocore errors become domain errors here.

Key layout (the bucket notification listens to ``originals/`` only, so the processor's own writes never trigger
it again):

    originals/{id}                 what a browser uploads with the presigned POST; deleted once processed
    content/{cref}/file.{ext}      the served copy (location metadata removed), shared by every record with the
                                   same content (ADR 0013); ``{cref}`` is a generation: random, never reused
    content/{cref}/{name}.{ext}    its thumbnails (150/300/600 on the longest side) and the display rendition
                                   of a format browsers cannot show (HEIC, AVIF; ``display``, <= 2560)

Images stored before content addressing keep the keys their records name (the edge serves whatever a record
holds, ``chalicelib/edge_resolver.py``):

    public/i/{ref}.{ext}           the served copy of a public or unlisted image (location metadata removed)
    public/i/{ref}/{name}.{ext}    its thumbnails (150/300/600 on the longest side) and the display rendition
                                   of a format browsers cannot show (HEIC, AVIF; ``display``, <= 2560); each
                                   thumbnail's companion encodings under the same name (``600.avif``, ``600.webp``)
    private/i/{ref}...             the same for a private image: a prefix the CDN cannot read
    files/{id}.{ext}, thumbs/{id}/{size}.{ext}, thumbs/{id}/display.{ext}
                                   images stored before short ids (moved on their first visibility change)

``{ref}`` is the image's short id (``chalicelib/delivery.py``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import clients, delivery
from chalicelib.errors import FileTooLarge, ImageNotFound, StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef, ObjectIdentifierTypeDef

log = logging.getLogger(__name__)

ORIGINALS_PREFIX = "originals/"
FILES_PREFIX = "files/"
THUMBS_PREFIX = "thumbs/"
PUBLIC_PREFIX = delivery.PUBLIC_PREFIX
PRIVATE_PREFIX = "private/"
CONTENT_PREFIX = "content/"
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def placement_prefix(*, public: bool) -> str:
    """Where an image's renditions live: the prefix the CDN reads (public and unlisted), or one it cannot."""
    return PUBLIC_PREFIX if public else PRIVATE_PREFIX


def served_key(prefix: str, ref: str, extension: str) -> str:
    return f"{prefix}{delivery.direct_path(ref, extension).lstrip('/')}"


def rendition_key(prefix: str, ref: str, name: str, extension: str) -> str:
    return f"{prefix}{delivery.rendition_path(ref, name, extension).lstrip('/')}"


def content_key(cref: str, name: str, extension: str) -> str:
    """A rendition of one content generation (``name`` is ``file`` for the served copy)."""
    return f"{CONTENT_PREFIX}{cref}/{name}.{extension}"


def content_prefix(cref: str) -> str:
    return f"{CONTENT_PREFIX}{cref}/"


def cref_of(key: str | None) -> str | None:
    """The generation a ``content/`` key belongs to, or None for any other key."""
    if not key or not key.startswith(CONTENT_PREFIX):
        return None
    cref, slash, _ = key[len(CONTENT_PREFIX) :].partition("/")
    return cref if slash and cref else None


def original_key(image_id: str) -> str:
    return f"{ORIGINALS_PREFIX}{image_id}"


def file_key(image_id: str, extension: str) -> str:
    return f"{FILES_PREFIX}{image_id}.{extension}"


def thumbnail_key(image_id: str, size: int, extension: str) -> str:
    return f"{THUMBS_PREFIX}{image_id}/{size}.{extension}"


def display_key(image_id: str, extension: str) -> str:
    """The display rendition (formats browsers cannot show) lives beside the thumbnails."""
    return f"{THUMBS_PREFIX}{image_id}/display.{extension}"


def image_id_from_original_key(key: str) -> str | None:
    """The image id an ``originals/`` key names, or None for any other key (nested paths included)."""
    if not key.startswith(ORIGINALS_PREFIX):
        return None
    image_id = key[len(ORIGINALS_PREFIX) :]
    return image_id if image_id and "/" not in image_id else None


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


def download_name(filename: str, key: str) -> str:
    """The uploader's name with the extension of what is really stored (the key's), never the uploader's own:
    ``evil.html`` served as a JPEG downloads as ``evil.jpg``."""
    extension = key.rpartition("/")[2].rpartition(".")[2] if "." in key.rpartition("/")[2] else ""
    stem = filename.rpartition(".")[0] if "." in filename.lstrip(".") else filename
    stem = stem.rstrip(". ") or "image"
    return f"{stem}.{extension}" if extension else stem


@dataclass(frozen=True)
class StoredPart:
    """One uploaded part of an open multipart upload, as the store reports it."""

    part_number: int
    size: int
    etag: str
    sha256_b64: str | None = None


def sha256_b64_from_hex(hex_digest: str) -> str:
    """The base64 form S3's ``x-amz-checksum-sha256`` wants, from a hex SHA-256."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def is_sha256_b64(value: object) -> bool:
    """True for the standard base64 of exactly 32 bytes (what a part's checksum header carries)."""
    if not isinstance(value, str) or len(value) != 44:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def content_disposition(filename: str) -> str:
    """``inline`` with an RFC 6266/5987 filename: ASCII fallback plus the UTF-8 original."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class Storage:
    """One bucket. Takes an injected client so tests can pass their own."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> S3Client:
        return self._client or clients.s3()

    def presign_upload(
        self,
        key: str,
        *,
        content_type: str,
        size: int,
        expires_seconds: int,
        sha256_b64: str | None = None,
    ) -> PresignedPost:
        """A POST form bound to one key, the exact Content-Type and exactly ``size`` bytes (the claimed size).

        The quota is reserved at the claim, so a form that admitted more than was claimed would let an owner
        store past the quota by claiming one byte. S3 (and LocalStack) enforce the range; moto does not, so the
        processor refuses an original larger than its claim as well. With ``sha256_b64`` the form also carries
        the object's SHA-256 (fields and policy), so the store itself refuses bytes that do not match it.
        """
        fields: dict[str, Any] = {"Content-Type": content_type}
        conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", size, size]]
        if sha256_b64:
            checksum = {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": sha256_b64}
            fields.update(checksum)
            conditions += [{name: value} for name, value in checksum.items()]
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=expires_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc
        return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def presign_get(
        self, key: str, *, expires_seconds: int, filename: str | None = None, cache_control: str | None = None
    ) -> str:
        """A short-lived GET; ``cache_control`` overrides the object's (a shared object says ``public``, but a
        private image's link is for one viewer)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if cache_control:
            params["ResponseCacheControl"] = cache_control
        if filename:
            params["ResponseContentDisposition"] = content_disposition(download_name(filename, key))
        try:
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
        if content_disposition:
            extra["ContentDisposition"] = content_disposition
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc

    def _get_object(self, key: str) -> GetObjectOutputTypeDef:
        """``GetObject``, with a missing key as ``ImageNotFound`` and any other failure as ``StorageUnavailable``."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise ImageNotFound(key=key) from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def read(self, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes; refuses to read more than ``max_bytes`` (the store may not enforce the policy)."""
        response = self._get_object(key)
        body = response["Body"]
        try:
            if response.get("ContentLength", 0) > max_bytes:
                raise FileTooLarge(size=response["ContentLength"], max_bytes=max_bytes)
            # Read one byte past the bound so a lying Content-Length cannot make us buffer a huge body.
            data = body.read(max_bytes + 1)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable() from exc
        finally:
            body.close()
        if len(data) > max_bytes:
            raise FileTooLarge(max_bytes=max_bytes)
        return data

    def delete(self, keys: Iterable[str]) -> None:
        """Delete keys; missing ones are fine (deletes are idempotent)."""
        objects: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys]
        for start in range(0, len(objects), 1000):
            try:
                response = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": objects[start : start + 1000], "Quiet": True}
                )
            except (BotoCoreError, ClientError) as exc:
                raise StorageUnavailable() from exc
            if errors := response.get("Errors"):
                log.warning("some objects were not deleted", extra={"errors": errors[:5]})
                raise StorageUnavailable(failed=len(errors))

    def keys_under(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (one generation's renditions: a handful)."""
        keys: list[str] = []
        with _storage_errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
        return True

    def sha256_of(self, key: str, *, chunk_bytes: int = 1024 * 1024) -> str:
        """The hex SHA-256 of the object as stored now, read in chunks (never whole into memory)."""
        response = self._get_object(key)
        digest = hashlib.sha256()
        body = response["Body"]
        try:
            for chunk in iter(lambda: body.read(chunk_bytes), b""):
                digest.update(chunk)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable() from exc
        finally:
            body.close()
        return digest.hexdigest()

    # --- multipart uploads (large files: the browser sends parts straight to the store) --------------------

    def create_multipart(self, key: str, *, content_type: str) -> str:
        """Open a multipart upload whose parts must each carry a SHA-256 checksum; returns its upload id."""
        with _storage_errors():
            response = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256"
            )
        return response["UploadId"]

    def presign_part(self, key: str, upload_id: str, part_number: int, *, sha256_b64: str, expires_seconds: int) -> str:
        """A presigned UploadPart URL with the part's checksum in its signed headers: other bytes are refused."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
            "ChecksumSHA256": sha256_b64,
        }
        with _storage_errors():
            return self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_seconds)

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        """Every part the store holds for the upload; ``ImageNotFound`` when the upload is gone (aborted/done)."""
        parts: list[StoredPart] = []
        marker = 0
        while True:
            try:
                response = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            except ClientError as exc:
                if _error_code(exc) in {"NoSuchUpload", *_MISSING_CODES}:
                    raise ImageNotFound(key=key) from exc
                raise StorageUnavailable() from exc
            except BotoCoreError as exc:
                raise StorageUnavailable() from exc
            for part in response.get("Parts", []):
                parts.append(
                    StoredPart(
                        part_number=int(part["PartNumber"]),
                        size=int(part["Size"]),
                        etag=str(part["ETag"]),
                        sha256_b64=part.get("ChecksumSHA256"),
                    )
                )
            if not response.get("IsTruncated"):
                return parts
            marker = int(response.get("NextPartNumberMarker", 0))

    def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        """Join the parts into the object (which then raises the ObjectCreated event like any upload)."""
        listed: list[dict[str, Any]] = []
        for part in sorted(parts, key=lambda p: p.part_number):
            entry: dict[str, Any] = {"PartNumber": part.part_number, "ETag": part.etag}
            if part.sha256_b64:
                entry["ChecksumSHA256"] = part.sha256_b64
            listed.append(entry)
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            if _error_code(exc) == "NoSuchUpload":
                raise ImageNotFound(key=key) from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and every part it holds; an upload already gone is fine (idempotent)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchUpload", *_MISSING_CODES}:
                return
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def incomplete_multipart_uploads(self, prefix: str = ORIGINALS_PREFIX) -> list[tuple[str, str, str]]:
        """(key, upload id, initiated ISO time) of every open multipart upload under ``prefix``."""
        found: list[tuple[str, str, str]] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            with _storage_errors():
                response = self.client.list_multipart_uploads(**kwargs)
            for upload in response.get("Uploads", []):
                initiated = upload.get("Initiated")
                found.append((str(upload["Key"]), str(upload["UploadId"]), initiated.isoformat() if initiated else ""))
            if not response.get("IsTruncated"):
                return found
            kwargs.update(KeyMarker=response.get("NextKeyMarker"), UploadIdMarker=response.get("NextUploadIdMarker"))

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise StorageUnavailable() from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
