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
- ``short-id-index`` short_id (hash), keys only: the share URL's short id -> the image id. Sparse: images from
  before short ids have none, and are reached by their id.
- TTL on ``expires_at``: a ``pending`` upload that never arrives disappears by itself.
- Content items (``ContentRecord``, id ``content#<content id>``) share the table: one per distinct served
  content, with its generation and reference count (ADR 0013). They carry none of the indexed attributes (owner,
  gallery_shard, sha256, short_id) nor ``expires_at``, so no index and no TTL ever sees them; a scan of the
  table must skip ids starting ``content#``.

Users table (hash key ``id``): users, ``email#`` uniqueness items and ``throttle#`` sign-in failure items, the
last with a TTL on ``expires_at``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection, base
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import clients
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


class ShortIdIndex(GlobalSecondaryIndex["ImageRecord"]):
    class Meta:
        index_name = "short-id-index"
        projection = KeysOnlyProjection()

    short_id = UnicodeAttribute(hash_key=True)


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
    dhash = UnicodeAttribute(null=True)  # perceptual hash (dHash, 16 hex digits); None on older images
    blurhash = UnicodeAttribute(null=True)  # placeholder shown while a rendition loads; None on older images
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
    upload_id = UnicodeAttribute(null=True)  # open S3 multipart upload of a pending large file
    part_size = NumberAttribute(null=True)  # its part size (every part but the last)
    expected_sha256 = UnicodeAttribute(null=True)  # hex SHA-256 the uploader declared; checked by the processor
    display_key = UnicodeAttribute(null=True)  # display rendition (HEIC/AVIF): what browsers are shown
    digests = MapAttribute[str, Any](null=True)  # {"file": hex, "150": hex, ...}: stored objects, for verify
    short_id = UnicodeAttribute(null=True)  # public name in URLs (chalicelib/delivery.py); None on older images
    content_id = UnicodeAttribute(null=True)  # the content item whose renditions it serves; None on older images
    generation = UnicodeAttribute(null=True)  # where its processing writes (content/{generation}/); never shown
    # The thumbnails' companion encodings (catalog.THUMBNAIL_COMPANIONS): {"600": {"webp": key, "avif": key}, ...}
    thumbnail_variants = MapAttribute[str, Any](null=True)

    owner_index = OwnerIndex()
    gallery_index = GalleryIndex()
    sha256_index = Sha256Index()
    short_id_index = ShortIdIndex()


class ContentRecord(Model):
    """One distinct served content (``chalicelib/contents.py``): an item of the images table, id
    ``content#<content id>``, shared by every ready record whose ``content_id`` names it."""

    class Meta:
        table_name = "chitram-images"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)  # "content#<content id>"
    kind = UnicodeAttribute(default="content")
    cref = UnicodeAttribute()  # generation: renditions under content/{cref}/; random, never reused
    refs = NumberAttribute()  # ready records pointing at it
    file_key = UnicodeAttribute()
    thumbnails = MapAttribute[str, Any](null=True)
    display_key = UnicodeAttribute(null=True)
    digests = MapAttribute[str, Any](null=True)
    thumbnail_variants = MapAttribute[str, Any](null=True)  # companion encodings, as on the records
    created_at = UnicodeAttribute()


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
    # Ids of the user's personal API tokens (their items are ``ApiTokenRecord``s in this same table): DynamoDB
    # cannot query a table by a non-key attribute, so the user item lists them.
    api_tokens = UnicodeSetAttribute(null=True)


class ApiTokenRecord(Model):
    """A personal API token (``kind == "apitoken"``), an item of the users table with id ``apitoken#<token id>``.

    Only the SHA-256 of the secret is stored. Living in the users table keeps tokens beside the user they belong
    to without another table to provision; ``chalicelib.auth.token_store`` is the only code that touches them.
    """

    class Meta:
        table_name = "chitram-users"
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)  # "apitoken#<token id>"
    kind = UnicodeAttribute(default="apitoken")
    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    scope = UnicodeAttribute()  # upload | read | full
    secret_hash = UnicodeAttribute()  # SHA-256 (hex) of the whole token string
    created_at = UnicodeAttribute()  # ISO-8601 UTC
    token_expires_at = NumberAttribute(null=True)  # epoch seconds; None = never
    last_used_at = NumberAttribute(null=True)  # epoch seconds, written at most once a minute


ALL_MODELS: tuple[type[Model], ...] = (ImageRecord, UserRecord)


def share_session() -> None:
    """PynamoDB's connections make their clients from ``clients.session()`` instead of a new botocore session each.

    Stock PynamoDB 6 gives every connection (one per model class, and one per ``connection()`` call) its own
    session, so each parses DynamoDB's service model and endpoint rules again: ~80 ms of CPU per model on a cold
    start and per transaction on a warm one. It has no option to share one (pynamodb/PynamoDB#876, #1245), so its
    module's ``get_session`` is pointed at ours, which keeps that function's signature and per-thread safety
    (ADR 0016). Idempotent.
    """
    base.get_session = clients.session  # type: ignore[attr-defined]  # the module global its Connection calls


def bind_tables(settings: Settings) -> None:
    """Point the models at this stage's tables and region (idempotent, cheap), with the same short timeouts and
    bounded attempts as every other AWS client (``chalicelib/clients.py``; PynamoDB's own defaults are 15 s to
    connect, 30 s to read and 4 attempts)."""
    bound: tuple[tuple[type[Model], str], ...] = (
        (ImageRecord, settings.images_table),
        (ContentRecord, settings.images_table),  # items in the images table
        (UserRecord, settings.users_table),
        (ApiTokenRecord, settings.users_table),  # items in the users table
    )
    share_session()
    for model, name in bound:
        meta: Any = model.Meta
        if meta.table_name != name or getattr(meta, "region", None) != settings.region:
            meta.table_name = name
            meta.region = settings.region
            model._connection = None
        meta.connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS
        meta.read_timeout_seconds = READ_TIMEOUT_SECONDS
        meta.max_retry_attempts = ATTEMPTS - 1  # retries after the first try


_connections: dict[str, Connection] = {}


def connection(region: str) -> Connection:
    """The bare PynamoDB connection of ``region`` (transactions), with the models' timeouts and attempts: made once,
    like the models' own, so a transaction does not make a client (and, stock, a session) of its own."""
    made = _connections.get(region)
    if made is None:
        made = _connections[region] = Connection(
            region=region,
            connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
            read_timeout_seconds=READ_TIMEOUT_SECONDS,
            max_retry_attempts=ATTEMPTS - 1,
        )
    return made


def reset_connections() -> None:
    """Drop PynamoDB's cached connections so the next call picks up the current endpoint environment."""
    models: tuple[type[Model], ...] = (*ALL_MODELS, ApiTokenRecord, ContentRecord)
    for model in models:
        model._connection = None
    _connections.clear()
