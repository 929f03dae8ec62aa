"""Visibility and deletion at the edge, in-process: renditions move between the CDN's prefix and a private one,
each move is idempotent and retry-safe, and the CDN is told to forget what left it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import catalog, composition, delivery
from chalicelib.errors import CdnUnavailable
from chalicelib.settings import get_settings
from tests.functional.conftest import body
from tests.functional.test_ownership import ada, patch, upload  # noqa: F401 - ada is a fixture


class RecordingInvalidator:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail = False

    def invalidate(self, paths: Sequence[str]) -> None:
        if self.fail:
            raise CdnUnavailable()
        self.calls.append(list(paths))


@pytest.fixture
def cdn(client: Client, monkeypatch: pytest.MonkeyPatch) -> RecordingInvalidator:
    fake = RecordingInvalidator()
    monkeypatch.setattr(composition.placement(), "invalidator", fake)
    return fake


def keys() -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=get_settings().bucket_name)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def keys_of(short: str) -> dict[str, list[str]]:
    return {prefix: [k for k in keys() if k.startswith(f"{prefix}i/{short}")] for prefix in ("public/", "private/")}


def stored_names(short: str, thumbnail_extension: str = "webp") -> list[str]:
    """The served copy, each thumbnail, and each thumbnail's companions (none in the thumbnail's own format):
    ``upload()``'s PNG has alpha, so its thumbnails are WebP."""
    formats = {thumbnail_extension} | {c.format.extension for c in catalog.thumbnail_companions()}
    names = [f"i/{short}/{size}.{ext}" for size in catalog.THUMBNAIL_SIZES for ext in formats]
    return sorted([f"i/{short}.png", *names])


def placed_names(keys: list[str]) -> list[str]:
    return sorted(key.split("/", 1)[1] for key in keys)


def meta(client: Client, image_id: str, auth: dict[str, str]) -> dict[str, Any]:
    return dict(body(client.http.get(f"/api/v1/images/{image_id}", headers=auth)))


def test_public_renditions_sit_under_the_cdn_prefix_with_stable_links(
    client: Client, cdn: RecordingInvalidator
) -> None:
    image = upload(client)
    short = image["short_id"]
    placed = keys_of(short)
    assert placed_names(placed["public/"]) == stored_names(short)
    assert placed["private/"] == []
    origin = get_settings().site_origin
    links = image["links"]
    assert links["page"] == f"{origin}/{short}"
    assert links["direct"] == f"{origin}/i/{short}.png"
    assert set(links["thumbnails"]) == {"150", "300", "600"}
    assert links["thumbnails"]["600"].startswith(f"{origin}/i/{short}/600.")
    head = boto3.client("s3").head_object(Bucket=get_settings().bucket_name, Key=delivery.public_key(f"/i/{short}.png"))
    assert head["CacheControl"] == delivery.IMMUTABLE_CACHE_CONTROL
    assert head["ContentType"] == "image/png"
    assert head["ContentDisposition"] == f'inline; filename="{short}.png"'


def test_private_upload_never_touches_the_cdn_prefix(
    client: Client,
    ada: dict[str, str],  # noqa: F811
) -> None:
    image = upload(client, ada, visibility="private")
    placed = keys_of(image["short_id"])
    assert placed["public/"] == []
    assert placed_names(placed["private/"]) == stored_names(image["short_id"])
    assert set(image["links"]) == {"page"}  # no public file links for a private image


def test_public_to_private_moves_out_and_invalidates_and_repeating_is_harmless(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada)
    short = image["short_id"]
    for _ in range(2):  # the second is a repeat (or a client's retry): same end state
        response = patch(client, image["id"], ada, "private")
        assert response.status_code == 200
        assert keys_of(short)["public/"] == []
        assert placed_names(keys_of(short)["private/"]) == stored_names(short)
    assert cdn.calls[0] == [f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]
    # The owner still sees it through presigned links that point at the private copies.
    owner_view = meta(client, image["id"], ada)
    assert "/private/i/" in owner_view["owner_links"]["file"]
    assert set(owner_view["links"]) == {"page"}


def test_private_to_public_moves_back_and_unlisted_stays_on_the_cdn(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada, visibility="private")
    short = image["short_id"]
    for visibility in ("public", "public", "unlisted"):
        assert patch(client, image["id"], ada, visibility).status_code == 200
        assert placed_names(keys_of(short)["public/"]) == stored_names(short)
        assert keys_of(short)["private/"] == []
    assert cdn.calls == []  # nothing left the CDN's prefix
    assert meta(client, image["id"], ada)["links"]["direct"].endswith(f"/i/{short}.png")


def test_a_failed_invalidation_is_a_503_and_the_retry_completes_the_move(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada)
    short = image["short_id"]
    cdn.fail = True
    failed = patch(client, image["id"], ada, "private")
    assert failed.status_code == 503
    assert body(failed)["detail"]["code"] == "CDN_UNAVAILABLE"
    assert keys_of(short)["public/"] == []  # already out of the public prefix
    cdn.fail = False
    assert patch(client, image["id"], ada, "private").status_code == 200
    assert cdn.calls == [[f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]]


def test_a_crashed_move_is_finished_by_the_retry(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = upload(client, ada)
    short = image["short_id"]
    storage = composition.storage()
    real_delete = storage.delete

    def crash(keys: Any) -> None:
        raise RuntimeError("lost the connection")

    monkeypatch.setattr(storage, "delete", crash)
    assert patch(client, image["id"], ada, "private").status_code == 500  # record moved, public copies left
    monkeypatch.setattr(storage, "delete", real_delete)
    assert patch(client, image["id"], ada, "private").status_code == 200
    assert keys_of(short)["public/"] == []
    assert placed_names(keys_of(short)["private/"]) == stored_names(short)


def test_delete_invalidates_a_public_image(client: Client, ada: dict[str, str], cdn: RecordingInvalidator) -> None:  # noqa: F811
    image = upload(client, ada)
    short = image["short_id"]
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=ada).status_code == 204
    assert keys_of(short) == {"public/": [], "private/": []}
    assert cdn.calls == [[f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]]
