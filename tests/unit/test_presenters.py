"""The wire shapes of images and tickets (chalicelib/api/presenters.py): URLs, readiness, owner-only fields."""

from __future__ import annotations

from typing import Any

from chalicelib import catalog
from chalicelib.api import presenters
from chalicelib.records import Image
from chalicelib.services.images import OwnerLinks, UploadTicket, Viewer

# A record's ``thumbnails`` holds the thumbnail renditions; a display rendition has its own field (display_key).
THUMBNAILS = [r for r in catalog.RENDITIONS if r.kind == "thumbnail"]
THUMBS = {r.name: f"thumbs/abc/{r.name}.jpg" for r in THUMBNAILS}


def image(**overrides: Any) -> Image:
    fields: dict[str, Any] = {
        "id": "abc",
        "status": "ready",
        "filename": "a.jpg",
        "content_type": "image/jpeg",
        "size": 10,
        "created_at": "2026-11-30T00:00:00.000Z",
        "owner": "u1",
        "file_key": "files/abc.jpg",
        "thumbnails": THUMBS,
        "duplicate_of": "older",
        "delete_token_hash": "secret-hash",
        **overrides,
    }
    return Image(**fields)


def test_a_ready_image_links_its_file_and_every_rendition_through_the_api() -> None:
    body = presenters.describe(image())
    assert body["url"] == "/api/v1/images/abc/file"
    assert body["thumbnails"] == {r.name: f"/api/v1/images/abc/thumbnail?size={r.name}" for r in THUMBNAILS}
    assert body["thumbnail_url"] == f"/api/v1/images/abc/thumbnail?size={catalog.DEFAULT_THUMBNAIL_SIZE}"
    assert body["thumbnail_ready"] is True
    assert "delete_token_hash" not in body
    assert "duplicate_of" not in body  # owner-only: describe_for adds it


def test_a_pending_image_has_no_links() -> None:
    body = presenters.describe(image(status="pending"))
    assert (body["url"], body["thumbnail_url"], body["thumbnails"], body["thumbnail_ready"]) == (None, None, {}, False)


def test_owner_fields_go_to_the_owner_only() -> None:
    links = OwnerLinks(file="https://s3/f", thumbnails={"300": "https://s3/t"}, expires_in=600)
    mine = presenters.describe_for(image(), Viewer(user_id="u1"), links)
    assert mine["is_owner"] is True
    assert mine["owner_links"] == {"file": "https://s3/f", "thumbnails": {"300": "https://s3/t"}, "expires_in": 600}
    assert mine["duplicate_of"] == "older"
    theirs = presenters.describe_for(image(), Viewer(user_id="u2"), None)
    assert theirs["is_owner"] is False
    assert "owner_links" not in theirs
    assert "duplicate_of" not in theirs


def test_an_upload_ticket_names_the_form_and_the_image() -> None:
    ticket = UploadTicket(
        image=image(status="pending"),
        url="https://s3/",
        fields={"key": "originals/abc"},
        expires_at=5,
        delete_token=None,
    )
    assert presenters.upload_ticket(ticket) == {
        "id": "abc",
        "status": "pending",
        "upload": {"url": "https://s3/", "fields": {"key": "originals/abc"}},
        "expires_at": 5,
        "delete_token": None,
        "image_url": "/api/v1/images/abc",
    }
