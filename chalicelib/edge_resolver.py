"""The edge's one decision: which stored object (if any) a public ``/i/...`` path serves.

Renditions are shared between every record with the same content (``content/{cref}/...``, ADR 0013), so the
bucket's layout no longer says who may see what: the record does. Both the local edge (``scripts/edge.py``) and
the CDN's origin-request function (Lambda@Edge, :func:`origin_request`) call :func:`resolve`:

    /i/{ref}.{ext}           the record's served copy (``file_key``), when its extension is ``ext``
    /i/{ref}/{name}.{ext}    the rendition the record holds whose key ends in ``/{name}.{ext}`` (thumbnails
                             ``150|300|600``, ``display``, and any companion format a record carries)

``{ref}`` is the record's short id, or its UUID id when it has no short id (images from before short ids). The
path must have exactly that shape (no dot segments, encoded slashes or nesting), and the record must be ``ready``
and readable by anyone with the link (public, unlisted). Anything else resolves to ``None``: a bare 404 with no
body that could tell a private image from a missing one. The key returned is whatever the record names, so
records from before content addressing (``files/``, ``thumbs/``, ``public/i/``, ``private/i/``) keep serving.

Pure function over an injected lookup, plus :class:`DynamoLookup` (one boto3 client, no PynamoDB, no settings:
Lambda@Edge has no environment variables, so the table and region are passed in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from chalicelib import catalog, delivery

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What a rendition's public path may look like. Anything else is not an image and never becomes a bucket key.
IMAGE_PATH: Final = re.compile(r"/i/([A-Za-z0-9_-]{1,64})(?:/([A-Za-z0-9_-]{1,32}))?\.([a-z0-9]{1,5})")
READY: Final = "ready"
# Never served, whatever a record says: the uploads as sent (location metadata and all).
NEVER_SERVED_PREFIXES: Final = ("originals/",)
_ANYONE_WITH_LINK: Final = frozenset(v.name for v in catalog.VISIBILITY_LEVELS if v.anyone_with_link)


@dataclass(frozen=True)
class EdgeRecord:
    """What the edge needs of an image record (nothing personal: no owner, no filename)."""

    ref: str  # the name its public paths use: short id, or id for records without one
    status: str
    visibility: str
    file_key: str | None
    rendition_keys: tuple[str, ...] = ()  # thumbnails, display, companions: every other servable key


Lookup = Callable[[str], "EdgeRecord | None"]


def resolve(path: str, lookup: Lookup) -> str | None:
    """The bucket key ``path`` serves, or None (answer a bare 404). ``lookup(ref)`` finds the record."""
    match = IMAGE_PATH.fullmatch(path)
    if match is None:
        return None
    ref, name, extension = match.groups()
    if not delivery.is_image_ref(ref):
        return None
    record = lookup(ref)
    if record is None or record.ref != ref or record.status != READY or record.visibility not in _ANYONE_WITH_LINK:
        return None
    if name is None:
        key = record.file_key if record.file_key and delivery.extension_of(record.file_key) == extension else None
    else:
        wanted = f"{name}.{extension}"
        key = next((k for k in record.rendition_keys if k.rsplit("/", 1)[-1] == wanted), None)
    if key is None or key.startswith(NEVER_SERVED_PREFIXES):
        return None
    return key


def content_disposition(path: str) -> str | None:
    """The ``Content-Disposition`` a record's own URL carries (``inline``, named after its ref and the real
    type's extension: ``{ref}.jpg``, ``{ref}-600.webp``). The stored object is shared, so it names no record."""
    match = IMAGE_PATH.fullmatch(path)
    if match is None:
        return None
    ref, name, extension = match.groups()
    return f'inline; filename="{ref}{"-" + name if name else ""}.{extension}"'


def edge_record(item: Mapping[str, Any]) -> EdgeRecord:
    """An :class:`EdgeRecord` from a plain record dict (``Image`` fields, or a deserialised DynamoDB item)."""
    thumbnails = item.get("thumbnails") or {}
    companions = item.get("companions") or {}  # other formats of the same renditions, where a record has them
    # Each thumbnail's companion encodings (AVIF, WebP): {"600": {"webp": key, "avif": key}, ...}
    variants = [key for by_format in (item.get("thumbnail_variants") or {}).values() for key in by_format.values()]
    extra = [item.get("display_key")]
    keys = tuple(str(k) for k in [*thumbnails.values(), *companions.values(), *variants, *extra] if k)
    return EdgeRecord(
        ref=str(item.get("short_id") or item["id"]),
        status=str(item.get("status", "")),
        visibility=str(item.get("visibility", "")),
        file_key=item.get("file_key"),
        rendition_keys=keys,
    )


class DynamoLookup:
    """The images table read the way the edge needs: short id -> id (keys-only index), then a consistent read.

    The read is strongly consistent so that a visibility change followed by a CDN invalidation can never be
    answered from a replica that still says public (that answer would be cached for a year).
    """

    SHORT_ID_INDEX: Final = "short-id-index"
    FIELDS: Final = (
        *("id", "short_id", "status", "visibility", "file_key", "thumbnails", "display_key", "companions"),
        "thumbnail_variants",
    )

    def __init__(self, table: str, client: DynamoDBClient) -> None:
        self.table = table
        self.client = client

    def __call__(self, ref: str) -> EdgeRecord | None:
        from boto3.dynamodb.types import TypeDeserializer

        image_id = self._id_for(ref)
        if image_id is None:
            return None
        names = {f"#f{i}": name for i, name in enumerate(self.FIELDS)}
        response = self.client.get_item(
            TableName=self.table,
            Key={"id": {"S": image_id}},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        deserializer = TypeDeserializer()
        return edge_record({name: deserializer.deserialize(value) for name, value in item.items()})

    def _id_for(self, ref: str) -> str | None:
        if delivery.is_legacy_id(ref):
            return ref
        response = self.client.query(
            TableName=self.table,
            IndexName=self.SHORT_ID_INDEX,
            KeyConditionExpression="short_id = :ref",
            ExpressionAttributeValues={":ref": {"S": ref}},
            Limit=1,
        )
        items = response.get("Items") or []
        return str(items[0]["id"]["S"]) if items else None


# --- CloudFront origin-request (Lambda@Edge) -------------------------------------------------------------------

NOT_FOUND: Final[dict[str, Any]] = {
    "status": "404",
    "statusDescription": "Not Found",
    "headers": {
        "content-type": [{"key": "Content-Type", "value": "text/plain; charset=utf-8"}],
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
        "x-content-type-options": [{"key": "X-Content-Type-Options", "value": "nosniff"}],
    },
    "body": "Not found\n",
}


def origin_request(event: Mapping[str, Any], lookup: Lookup) -> dict[str, Any]:
    """A Lambda@Edge origin-request answer: the request re-pointed at the record's key (the images origin has
    no origin path), or a bare 404 that is never cached (so private -> public starts serving at once)."""
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    if request.get("method", "GET") not in ("GET", "HEAD"):
        return dict(NOT_FOUND)
    path = request.get("uri", "")
    key = resolve(path, lookup)
    if key is None:
        return dict(NOT_FOUND)
    request["uri"] = "/" + quote(key)
    # S3 honours response-* overrides on signed requests (origin access control signs this one): each record's
    # URL names its own file, though the object is shared.
    request["querystring"] = "response-content-disposition=" + quote(content_disposition(path) or "", safe="")
    return request
