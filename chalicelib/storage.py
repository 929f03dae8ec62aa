"""S3 adapter: object keys, reads, writes, deletes and presigned URLs. botocore errors become domain errors here.

Key layout (the bucket notification listens to ``originals/`` only, so the processor's own writes never trigger
it again):

    originals/{id}            what a browser uploads with the presigned POST; deleted once processed
    files/{id}.{ext}          the served copy (location metadata removed)
    thumbs/{id}/{size}.{ext}  thumbnails, 150/300/600 on the longest side
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import clients
from chalicelib.errors import FileTooLarge, ImageNotFound, StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

log = logging.getLogger(__name__)

ORIGINALS_PREFIX = "originals/"
FILES_PREFIX = "files/"
THUMBS_PREFIX = "thumbs/"
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def original_key(image_id: str) -> str:
    return f"{ORIGINALS_PREFIX}{image_id}"


def file_key(image_id: str, extension: str) -> str:
    return f"{FILES_PREFIX}{image_id}.{extension}"


def thumbnail_key(image_id: str, size: int, extension: str) -> str:
    return f"{THUMBS_PREFIX}{image_id}/{size}.{extension}"


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

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_seconds: int) -> PresignedPost:
        """A POST form bound to one key, the exact Content-Type and exactly ``size`` bytes (the claimed size).

        The quota is reserved at the claim, so a form that admitted more than was claimed would let an owner
        store past the quota by claiming one byte. S3 (and LocalStack) enforce the range; moto does not, so the
        processor refuses an original larger than its claim as well."""
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", size, size],
                ],
                ExpiresIn=expires_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc
        return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def presign_get(self, key: str, *, expires_seconds: int, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(download_name(filename, key))
        try:
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc

    def put(self, key: str, data: bytes, *, content_type: str, cache_control: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if cache_control:
            extra["CacheControl"] = cache_control
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **extra)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc

    def read(self, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes; refuses to read more than ``max_bytes`` (the store may not enforce the policy)."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise ImageNotFound(key=key) from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
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

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable() from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
