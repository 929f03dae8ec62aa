"""PynamoDB models: the shape of the images and users tables, their indexes and TTL.

Table names come from settings at run time (``bind_tables``), never from the environment at import time, so
one process can serve several stages in tests. ``infra/`` declares the same tables for CloudFormation; a drift
test compares the two.

Images table (hash key ``id``):
- ``owner-index``   owner (hash) + ``created_key`` (range): a user's images, newest first.
- ``gallery-index`` ``gallery_shard`` (hash) + ``created_key`` (range): the public gallery. Sparse: only ready,
  public images carry ``gallery_shard``. Writes spread over ``GALLERY_SHARDS`` partitions (hash of the id), so
  one hot partition never takes every new upload; a gallery page merges the shards' newest items.
- ``sha256-index``  sha256 (hash), keys only: find identical content (dedup).
- TTL on ``expires_at``: a ``pending`` upload that never arrives disappears by itself.

Users table (hash key ``id``): users, ``email#`` uniqueness items and ``throttle#`` sign-in failure items, the
last with a TTL on ``expires_at``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.clients import ATTEMPTS, CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS
from chalicelib.settings import Settings


class OwnerIndex(GlobalSecondaryIndex["ImageRecord"]):
    class Meta:
        index_name = "owner-index"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class GalleryIndex(GlobalSecondaryIndex["ImageRecord"]):
    class Meta:
        index_name = "gallery-index"
        projection = AllProjection()

    gallery_shard = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class Sha256Index(GlobalSecondaryIndex["ImageRecord"]):
    class Meta:
        index_name = "sha256-index"
        projection = KeysOnlyProjection()

    sha256 = UnicodeAttribute(hash_key=True)


class ImageRecord(Model):
    class Meta:
        table_name = "chitram-images"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # pending | ready | rejected
    visibility = UnicodeAttribute(default="public")  # public | unlisted | private
    owner = UnicodeAttribute(null=True)
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()  # claimed at upload; replaced by the detected type when ready
    size = NumberAttribute()  # claimed at upload; replaced by the real size when ready
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute(null=True)  # served copy (location metadata removed)
    thumbnails = MapAttribute[str, Any](null=True)  # {"150": key, "300": key, "600": key}
    delete_token_hash = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # ISO-8601 UTC
    created_key = UnicodeAttribute()  # created_at + "#" + id: unique, sortable range key
    processed_at = UnicodeAttribute(null=True)
    reject_reason = UnicodeAttribute(null=True)
    upload_ip = UnicodeAttribute(null=True)
    gallery_shard = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # DynamoDB TTL (epoch seconds); only on pending records
    request_id = UnicodeAttribute(null=True)  # correlation id of the request that created it
    duplicate_of = UnicodeAttribute(null=True)  # the owner's earlier ready image with the same bytes

    owner_index = OwnerIndex()
    gallery_index = GalleryIndex()
    sha256_index = Sha256Index()


class UserRecord(Model):
    """A user, or (``kind == "email"``) the item that makes an e-mail address unique.

    DynamoDB has no unique constraint, so registration writes ``email#<address>`` with
    ``attribute_not_exists`` in the same transaction as the user item. Users signed in through OIDC have no
    password and no email item; their item (id ``oidc:<sub>``) appears with their first upload, to hold the
    quota counters.
    """

    class Meta:
        table_name = "chitram-users"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)  # user id, or "email#<lower-cased address>"
    kind = UnicodeAttribute(default="user")  # user | email
    user_id = UnicodeAttribute(null=True)  # on the email item: whose address it is
    email = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    failed_logins = NumberAttribute(default=0)
    locked_until = NumberAttribute(null=True)
    image_count = NumberAttribute(default=0)
    bytes_used = NumberAttribute(default=0)
    # Password reset: only the SHA-256 of the one live token is stored; a new request replaces it, and using it
    # removes it with a conditional write (single use).
    reset_token_hash = UnicodeAttribute(null=True)
    reset_expires_at = NumberAttribute(null=True)
    # Bumped when the password is reset: tokens carry the version they were issued under ("ver"), so every
    # token issued before the reset stops working at once.
    token_version = NumberAttribute(default=0)
    # DynamoDB TTL (epoch seconds): only on ``throttle#`` items (sign-in failures per address and source).
    expires_at = NumberAttribute(null=True)


ALL_MODELS: tuple[type[Model], ...] = (ImageRecord, UserRecord)


def bind_tables(settings: Settings) -> None:
    """Point the models at this stage's tables and region (idempotent, cheap), with the same short timeouts and
    bounded attempts as every other AWS client (``chalicelib/clients.py``; PynamoDB's own defaults are 15 s to
    connect, 30 s to read and 4 attempts)."""
    for model, name in ((ImageRecord, settings.images_table), (UserRecord, settings.users_table)):
        meta: Any = model.Meta
        if meta.table_name != name or getattr(meta, "region", None) != settings.region:
            meta.table_name = name
            meta.region = settings.region
            model._connection = None
        meta.connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS
        meta.read_timeout_seconds = READ_TIMEOUT_SECONDS
        meta.max_retry_attempts = ATTEMPTS - 1  # retries after the first try


def connection(region: str) -> Connection:
    """A bare PynamoDB connection (transactions) with the models' timeouts and attempts."""
    return Connection(
        region=region,
        connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds=READ_TIMEOUT_SECONDS,
        max_retry_attempts=ATTEMPTS - 1,
    )


def reset_connections() -> None:
    """Drop PynamoDB's cached connections so the next call picks up the current endpoint environment."""
    for model in ALL_MODELS:
        model._connection = None
