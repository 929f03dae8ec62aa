"""Visibility and deletion at the edge, in-process: renditions are content-addressed and never move; the edge's
rule (chalicelib/edge_resolver.py) reads the record, so a change of visibility is a record write, repeated
harmlessly, and the CDN is told to forget what left the public side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from chalice.test import Client

from chalicelib import catalog, composition, delivery
from chalicelib.edge_resolver import EdgeRecord, edge_record, resolve
from chalicelib.errors import CdnUnavailable
from chalicelib.settings import get_settings
from tests.functional.conftest import body
from tests.functional.test_ownership import ada, patch, upload  # noqa: F401 - ada is a fixture

# ``upload()``'s PNG has alpha, so its thumbnails are WebP; companions are never in the thumbnail's own format.
RENDITIONS = 1 + len(catalog.THUMBNAIL_SIZES) * len(
    {"webp"} | {c.format.extension for c in catalog.thumbnail_companions()}
)


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


def lookup(ref: str) -> EdgeRecord | None:
    """The edge's lookup, straight from the table (what the local edge and the CDN's function read)."""
    records = composition.image_records()
    try:
        image = records.get(records.id_for_short_id(ref) if delivery.is_short_id(ref) else ref)
    except Exception:
        return None
    return edge_record(asdict(image))


def paths_of(short: str) -> dict[str, str]:
    """The image's direct path and each thumbnail path."""
    records = composition.image_records()
    image = records.get(records.id_for_short_id(short))
    paths = {"direct": delivery.direct_path(short, delivery.extension_of(image.file_key or ""))}
    paths |= {n: delivery.rendition_path(short, n, delivery.extension_of(k)) for n, k in image.thumbnails.items()}
    assert len(paths) == 4
    return paths


def served(short: str, paths: dict[str, str] | None = None) -> dict[str, str | None]:
    """What the edge serves for each of the image's paths (None: a bare 404)."""
    return {name: resolve(path, lookup) for name, path in (paths or paths_of(short)).items()}


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


def test_public_renditions_are_served_by_the_edge_with_stable_links(client: Client, cdn: RecordingInvalidator) -> None:
    image = upload(client)
    short = image["short_id"]
    stored = keys()
    # Served copy, 3 thumbnails and their companions (catalog.THUMBNAIL_COMPANIONS), one generation.
    assert len(stored) == RENDITIONS
    assert all(key.startswith("content/") for key in stored)
    origin = get_settings().site_origin
    links = image["links"]
    assert links["page"] == f"{origin}/{short}"
    assert links["direct"] == f"{origin}/i/{short}.png"
    assert set(links["thumbnails"]) == {"150", "300", "600"}
    assert links["thumbnails"]["600"].startswith(f"{origin}/i/{short}/600.")
    direct = resolve(urlsplit(links["direct"]).path, lookup)
    assert direct in stored
    assert {resolve(urlsplit(url).path, lookup) for url in links["thumbnails"].values()} | {direct} <= set(stored)
    record = composition.image_records().get(image["id"])
    for size, by_format in record.thumbnail_variants.items():
        for extension, key in by_format.items():
            assert resolve(delivery.rendition_path(short, size, extension), lookup) == key
    head = boto3.client("s3").head_object(Bucket=get_settings().bucket_name, Key=str(direct))
    assert head["CacheControl"] == delivery.IMMUTABLE_CACHE_CONTROL
    assert head["ContentType"] == "image/png"
    # Shared by every record with these bytes, so it names none of them (the edge names each record's own).
    assert head["ContentDisposition"] == 'inline; filename="file.png"'
    assert short not in head["ContentDisposition"]


def test_a_private_upload_is_never_served_by_the_edge(
    client: Client,
    ada: dict[str, str],  # noqa: F811
) -> None:
    image = upload(client, ada, visibility="private")
    assert len(keys()) == RENDITIONS
    assert set(served(image["short_id"]).values()) == {None}
    assert set(image["links"]) == {"page"}  # no public file links for a private image


def test_public_to_private_stops_serving_and_invalidates_and_repeating_is_harmless(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada)
    short = image["short_id"]
    stored = keys()
    assert None not in served(short).values()
    for _ in range(2):  # the second is a repeat (or a client's retry): same end state
        response = patch(client, image["id"], ada, "private")
        assert response.status_code == 200
        assert set(served(short).values()) == {None}
        assert keys() == stored  # nothing moved, nothing copied
    assert cdn.calls[0] == [f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]
    # The owner still sees it through presigned links, told to keep it private whatever the object says.
    owner_view = meta(client, image["id"], ada)
    assert "/content/" in owner_view["owner_links"]["file"]
    assert "response-cache-control=private" in owner_view["owner_links"]["file"]
    assert set(owner_view["links"]) == {"page"}


def test_private_to_public_starts_serving_and_unlisted_stays_served(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada, visibility="private")
    short = image["short_id"]
    stored = keys()
    for visibility in ("public", "public", "unlisted"):
        assert patch(client, image["id"], ada, visibility).status_code == 200
        assert set(served(short).values()) <= set(stored)
        assert None not in served(short).values()
        assert keys() == stored
    assert cdn.calls == []  # nothing left the public side
    assert meta(client, image["id"], ada)["links"]["direct"].endswith(f"/i/{short}.png")


def test_a_failed_invalidation_is_a_503_and_the_retry_completes(
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
    assert set(served(short).values()) == {None}  # the record already says private: the edge refuses
    cdn.fail = False
    assert patch(client, image["id"], ada, "private").status_code == 200
    assert cdn.calls == [[f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]]


def test_delete_stops_serving_invalidates_and_removes_the_last_copy(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,
) -> None:
    image = upload(client, ada)
    short = image["short_id"]
    paths = paths_of(short)
    assert None not in served(short, paths).values()
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=ada).status_code == 204
    assert set(served(short, paths).values()) == {None}
    assert keys() == []
    assert cdn.calls == [[f"/i/{short}.*", f"/i/{short}/*", f"/{short}"]]
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=ada).status_code == 404  # repeated
