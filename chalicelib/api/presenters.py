"""Presentation: the JSON shapes of images, upload tickets and users, and the API URLs inside them.

Services return domain objects (``Image``, ``UploadTicket``, ``OwnerLinks``, ``User``); the routes turn them into
wire bodies here and nowhere else, so the OpenAPI document (``chalicelib/api/openapi.py``) describes what these
functions build. Field names are Chitram's (``file_size``, ``thumbnail_ready``, ``thumbnail_url``, ...).
"""

from __future__ import annotations

from typing import Any

from chalicelib import catalog, delivery
from chalicelib.auth.store import User
from chalicelib.records import READY, Image, Page
from chalicelib.services.images import OwnerLinks, UploadTicket, Viewer
from chalicelib.services.multipart import MultipartTicket
from chalicelib.services.placement import is_public
from chalicelib.settings import get_settings

API_PREFIX = "/api/v1"


def image_path(image_id: str) -> str:
    return f"{API_PREFIX}/images/{image_id}"


def describe(image: Image) -> dict[str, Any]:
    """The public JSON view of an image (Chitram's field names, plus status and thumbnails)."""
    base = image_path(image.id)
    ready = image.status == READY
    thumbnails = {size: f"{base}/thumbnail?size={size}" for size in sorted(image.thumbnails, key=int)} if ready else {}
    body: dict[str, Any] = {
        "id": image.id,
        "filename": image.filename,
        "content_type": image.content_type,
        "file_size": image.size,
        "width": image.width,
        "height": image.height,
        "status": image.status,
        "visibility": image.visibility,
        "created_at": image.created_at,
        "url": f"{base}/file" if ready else None,
        "thumbnail_ready": bool(thumbnails),
        "thumbnail_url": thumbnails.get(str(catalog.DEFAULT_THUMBNAIL_SIZE)) if thumbnails else None,
        "thumbnails": thumbnails,
        "sha256": image.sha256,
        # Formats browsers cannot show (HEIC) get a display rendition: ``url`` serves it, ``original_url`` the
        # scrubbed original (its owner only).
        "has_display": bool(ready and image.display_key),
        "blurhash": image.blurhash if ready else None,
    }
    if ready and image.display_key:
        body["original_url"] = f"{base}/file?variant=original"
    if image.reject_reason:
        body["reject_reason"] = image.reject_reason
    body["short_id"] = image.short_id
    body["links"] = public_links(image)
    return body


def public_links(image: Image, origin: str | None = None) -> dict[str, Any]:
    """Absolute URLs on the one public origin (CDN or local edge): ``page`` (the share page) for every image;
    ``direct`` (``/i/{ref}.{ext}``), ``thumbnails`` by size and ``display`` only for what the edge serves (a ready
    public or unlisted image, ``chalicelib/edge_resolver.py``). Stable: they never expire."""
    base = (origin if origin is not None else get_settings().site_origin).rstrip("/")
    links: dict[str, Any] = {"page": base + delivery.page_path(image.ref)}
    if image.status != READY or not image.file_key or not is_public(image.visibility):
        return links
    links["direct"] = base + delivery.direct_path(image.ref, delivery.extension_of(image.file_key))
    links["thumbnails"] = {
        name: base + delivery.rendition_path(image.ref, name, delivery.extension_of(key))
        for name, key in sorted(image.thumbnails.items(), key=lambda item: int(item[0]) if item[0].isdigit() else 0)
        if name.isdigit()
    }
    if display := image.display_key:
        links["display"] = base + delivery.rendition_path(image.ref, "display", delivery.extension_of(display))
    if sources := thumbnail_sources(image, base):
        links["thumbnail_sources"] = sources
    return links


def thumbnail_sources(image: Image, base: str) -> dict[str, dict[str, str]]:
    """Every public encoding of each thumbnail, by size then extension, companions first in the catalog's order
    (``{"600": {"avif": url, "webp": url, "jpg": url}}``); empty for an image stored before companions existed."""
    if not image.thumbnail_variants:
        return {}
    order = {ext: rank for rank, ext in enumerate(catalog.thumbnail_extensions())}
    sources: dict[str, dict[str, str]] = {}
    for name in sorted(image.thumbnails, key=lambda n: int(n) if n.isdigit() else 0):
        stored = [*image.thumbnail_variants.get(name, {}).values(), image.thumbnails[name]]
        # (Only called for what the edge serves: ``public_links`` checked the record's visibility.)
        public = sorted((delivery.extension_of(key) for key in stored), key=lambda e: order.get(e, len(order)))
        if name.isdigit() and public:
            sources[name] = {ext: base + delivery.rendition_path(image.ref, name, ext) for ext in public}
    return sources


def describe_for(image: Image, viewer: Viewer, links: OwnerLinks | None) -> dict[str, Any]:
    """``describe`` plus what only this viewer may see: ``is_owner`` and, for the owner, ``owner_links`` (the
    service's :meth:`~chalicelib.services.images.ImageService.owner_links`) and ``duplicate_of``."""
    body = describe(image)
    body["is_owner"] = viewer.user_id is not None and image.owner == viewer.user_id
    if links is not None:
        body["owner_links"] = owner_links(links)
    if body["is_owner"] and image.duplicate_of:
        body["duplicate_of"] = image.duplicate_of
    return body


def owner_links(links: OwnerLinks) -> dict[str, Any]:
    body: dict[str, Any] = {"file": links.file, "thumbnails": dict(links.thumbnails), "expires_in": links.expires_in}
    if links.display:
        body["display"] = links.display
    return body


def page(items: list[dict[str, Any]], page: Page) -> dict[str, Any]:
    """A cursor page: ``items`` already presented, and the cursor of the next page (or null)."""
    return {"items": items, "next_cursor": page.next_cursor}


def upload_ticket(ticket: UploadTicket) -> dict[str, Any]:
    """The answer to ``POST /images/upload-url``: the presigned form and where the image will be."""
    return {
        "id": ticket.image.id,
        "status": ticket.image.status,
        "upload": {"url": ticket.url, "fields": ticket.fields},
        "expires_at": ticket.expires_at,
        "delete_token": ticket.delete_token,
        "image_url": image_path(ticket.image.id),
    }


def multipart_ticket(ticket: MultipartTicket) -> dict[str, Any]:
    """The answer to ``POST /images/multipart``: the upload's plan and where the image will be."""
    return {
        "id": ticket.image.id,
        "status": ticket.image.status,
        "upload_id": ticket.upload_id,
        "part_size": ticket.part_size,
        "part_count": ticket.part_count,
        "expires_at": ticket.expires_at,
        "delete_token": ticket.delete_token,
        "image_url": image_path(ticket.image.id),
    }


def describe_user(user: User) -> dict[str, Any]:
    """The public JSON view of a local user (never the hash, never the counters' internals)."""
    return {"id": user.id, "email": user.email, "created_at": user.created_at, "provider": "local"}
