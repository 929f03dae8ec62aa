"""The whole life of an image over HTTP against the running stack: upload, process, read, link, delete."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image

from chalicelib import catalog
from tests.conftest import FIXTURES, make_jpeg, make_png, unique_jpeg
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def follow(api: Api, path: str) -> requests.Response:
    """GET an API link that redirects to a presigned URL, and fetch what it points to."""
    response = api.get(path)
    assert response.status_code == 302, response.text
    # Only the browser may keep the redirect, and for less time than the presigned link lives (600 s).
    assert response.headers["Cache-Control"] == "private, max-age=300"
    target = requests.get(response.headers["Location"], timeout=30)
    assert target.status_code == 200, target.text
    return target


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_ready_with_thumbnails(api: Api, meta: dict[str, Any], width: int, height: int) -> None:
    assert meta["status"] == "ready", meta
    assert (meta["width"], meta["height"]) == (width, height)
    assert meta["thumbnail_ready"] is True
    assert sorted(meta["thumbnails"], key=int) == ["150", "300", "600"]
    for size in (150, 300, 600):
        thumb = decode(follow(api, f"/api/v1/images/{meta['id']}/thumbnail?size={size}").content)
        assert max(thumb.size) == min(size, max(width, height))
        # Same aspect ratio as the upright original (within rounding).
        assert abs(thumb.size[0] / thumb.size[1] - width / height) < 0.02


def test_health_details_report_every_dependency_to_the_operator(api: Api) -> None:
    body = api.health_details().json()
    assert body["status"] == "ok"
    for name in ("storage", "metadata", "queue", "dead_letter_queue"):
        assert body["checks"][name]["status"] == "up", name
    assert len(body["checks"]["cache"]["nodes"]) == 3
    assert body["checks"]["rate_limiter"]["status"] == "enabled"


def test_presigned_upload_of_a_jpeg_reaches_ready(api: Api) -> None:
    data = make_jpeg(2400, 1600)
    ticket = api.direct_upload(data, "big photo.jpg")
    meta = api.wait_until_processed(ticket["id"])
    assert_ready_with_thumbnails(api, meta, 2400, 1600)
    assert meta["filename"] == "big photo.jpg"
    served = follow(api, f"/api/v1/images/{ticket['id']}/file")
    assert served.headers["Content-Type"] == "image/jpeg"
    assert decode(served.content).size == (2400, 1600)


def test_multipart_upload_reaches_ready_at_once(api: Api) -> None:
    data = make_jpeg(1200, 900)
    response = api.post("/api/v1/images/upload", files={"file": ("via-api.jpg", data, "image/jpeg")})
    assert response.status_code == 201, response.text
    body = response.json()
    for key in (
        "id",
        "filename",
        "content_type",
        "file_size",
        "url",
        "created_at",
        "width",
        "height",
        "delete_token",
        "thumbnail_ready",
        "thumbnail_url",
    ):
        assert key in body, key
    assert body["delete_token"]
    assert_ready_with_thumbnails(api, api.get(f"/api/v1/images/{body['id']}").json(), 1200, 900)


def test_second_read_is_a_cache_hit(api: Api) -> None:
    response = api.post("/api/v1/images/upload", files={"file": ("c.png", make_png(40, 30), "image/png")})
    image_id = response.json()["id"]
    first = api.get(f"/api/v1/images/{image_id}")
    second = api.get(f"/api/v1/images/{image_id}")
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert first.json() == second.json()


def test_delete_removes_record_file_and_thumbnails(api: Api, aws_clients: dict[str, Any], stack: Any) -> None:
    ticket = api.direct_upload(unique_jpeg(800, 600))
    api.wait_until_processed(ticket["id"])
    bucket = stack.env().get("BUCKET_NAME", "chitram-images")
    s3 = aws_clients["s3"]

    item = aws_clients["dynamodb"].get_item(TableName="chitram-images", Key={"id": {"S": ticket["id"]}})["Item"]
    generation = item["file_key"]["S"].rsplit("/", 1)[0] + "/"  # content/{cref}/: bytes nobody else has
    assert generation.startswith("content/")

    def keys() -> list[str]:
        listed = []
        for prefix in (f"originals/{ticket['id']}", generation):
            listed += [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        return listed

    # Served copy + 3 thumbnails + each thumbnail's companions (AVIF, WebP); the original is gone once processed.
    assert len(keys()) == 1 + catalog.thumbnail_files()
    missing = api.delete(f"/api/v1/images/{ticket['id']}")
    assert (missing.status_code, missing.json()["detail"]["code"]) == (403, "DELETE_TOKEN_REQUIRED")
    wrong = api.delete(f"/api/v1/images/{ticket['id']}", headers={"X-Delete-Token": "x" * 43})
    assert (wrong.status_code, wrong.json()["detail"]["code"]) == (403, "INVALID_DELETE_TOKEN")
    ok = api.delete(f"/api/v1/images/{ticket['id']}?delete_token={ticket['delete_token']}")
    assert ok.status_code == 204
    gone = api.get(f"/api/v1/images/{ticket['id']}")
    assert (gone.status_code, gone.json()["detail"]["code"]) == (404, "IMAGE_NOT_FOUND")
    assert keys() == []
    again = api.delete(f"/api/v1/images/{ticket['id']}?delete_token={ticket['delete_token']}")
    assert again.status_code == 404


def test_thumbnail_of_a_pending_image_is_not_ready(api: Api) -> None:
    ticket = api.request_upload("later.jpg", "image/jpeg", 1000)
    response = api.get(f"/api/v1/images/{ticket['id']}/thumbnail?size=150")
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "THUMBNAIL_NOT_READY"
    file_response = api.get(f"/api/v1/images/{ticket['id']}/file")
    assert file_response.status_code == 404


@pytest.mark.parametrize("size", ["0", "151", "abc", "-1"])
def test_thumbnail_size_must_be_one_we_make(api: Api, size: str) -> None:
    response = api.get(f"/api/v1/images/any-id/thumbnail?size={size}")
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "VALIDATION_ERROR"
    assert response.json()["detail"]["details"]["allowed"] == [150, 300, 600]


def test_gallery_lists_ready_public_images_newest_first_with_cursor(api: Api) -> None:
    ids = [
        api.post("/api/v1/images/upload", files={"file": (f"g{i}.png", make_png(20 + i, 20), "image/png")}).json()["id"]
        for i in range(3)
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/images", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor or set(ids) <= set(seen):
            break
    positions = [seen.index(i) for i in ids]
    assert positions == sorted(positions, reverse=True)  # the newest upload comes first
    assert len(seen) == len(set(seen))  # no page repeats an item


def test_bad_cursor_is_a_clear_error(api: Api) -> None:
    response = api.get("/api/v1/images", params={"cursor": "not-a-cursor"})
    assert (response.status_code, response.json()["detail"]["code"]) == (400, "INVALID_CURSOR")


def test_openapi_document_is_served(api: Api) -> None:
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_real_camera_file_with_gps_is_served_without_location(api: Api) -> None:
    data = (FIXTURES / "DSCN0010.jpg").read_bytes()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the fixture really has GPS
    ticket = api.direct_upload(data, "DSCN0010.jpg")
    meta = api.wait_until_processed(ticket["id"])
    assert meta["status"] == "ready"
    served = decode(follow(api, f"/api/v1/images/{ticket['id']}/file").content)
    assert not served.getexif().get_ifd(0x8825)
    for size in (150, 300, 600):
        thumb = decode(follow(api, f"/api/v1/images/{ticket['id']}/thumbnail?size={size}").content)
        assert not thumb.getexif().get_ifd(0x8825)
