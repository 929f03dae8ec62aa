"""Hostile and broken files, through both upload paths: a clear code, no object left, no ``ready`` record."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from chalicelib.settings import Settings
from scripts.stack import Stack
from tests.conftest import FIXTURES, HOSTILE_FILES, make_png_bomb
from tests.http_api import settled_image_objects
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def stored_keys(aws_clients: dict[str, Any], image_id: str) -> list[str]:
    return settled_image_objects(aws_clients, image_id)


def all_keys(aws_clients: dict[str, Any]) -> set[str]:
    paginator = aws_clients["s3"].get_paginator("list_objects_v2")
    return {o["Key"] for page in paginator.paginate(Bucket="chitram-images") for o in page.get("Contents", [])}


HOSTILE_WITH_REASON = {
    "zero-bytes": "EMPTY_FILE",
    "truncated-jpeg": "TRUNCATED",
    "text-named-jpg": "NOT_AN_IMAGE",
    "html-claiming-png": "NOT_AN_IMAGE",
    "svg-claiming-png": "NOT_AN_IMAGE",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_WITH_REASON))
def test_hostile_file_uploaded_to_the_bucket_is_rejected_and_removed(
    api: Api, aws_clients: dict[str, Any], stack: Stack, name: str
) -> None:
    if name == "zero-bytes" and stack.config.s3_sqs_endpoint:
        pytest.skip("LocalStack refuses an empty body itself (EntityTooSmall): tests/integration/test_store_policy.py")
    data, claimed = HOSTILE_FILES[name]
    # moto does not enforce the policy's content-length-range, so even an empty body arrives.
    ticket = api.request_upload(f"{name}.jpg", claimed, max(1, len(data)))
    form = ticket["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": ("x", data, claimed)}, timeout=30)
    meta = api.wait_until_processed(ticket["id"])
    assert meta["status"] == "rejected"
    assert meta["reject_reason"] == HOSTILE_WITH_REASON[name]
    assert meta["url"] is None
    assert meta["thumbnails"] == {}
    assert stored_keys(aws_clients, ticket["id"]) == []
    assert api.get(f"/api/v1/images/{ticket['id']}/file").status_code == 404


@pytest.mark.parametrize("name", sorted(HOSTILE_WITH_REASON))
def test_hostile_file_through_the_api_is_refused_and_nothing_is_stored(
    api: Api, aws_clients: dict[str, Any], name: str
) -> None:
    data, claimed = HOSTILE_FILES[name]
    before = all_keys(aws_clients)
    response = api.post("/api/v1/images/upload", files={"file": (f"{name}.jpg", data, claimed)})
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail["code"] == "INVALID_FILE_FORMAT"
    assert detail["details"]["reason"] == HOSTILE_WITH_REASON[name]
    assert "Traceback" not in response.text
    assert all_keys(aws_clients) == before


def test_decompression_bomb_is_rejected_without_decoding(api: Api, aws_clients: dict[str, Any]) -> None:
    bomb = make_png_bomb()
    assert len(bomb) < 1 * MIB
    ticket = api.direct_upload(bomb, "bomb.png", "image/png")
    meta = api.wait_until_processed(ticket["id"])
    assert (meta["status"], meta["reject_reason"]) == ("rejected", "TOO_MANY_PIXELS")
    assert stored_keys(aws_clients, ticket["id"]) == []
    response = api.post("/api/v1/images/upload", files={"file": ("bomb.png", bomb, "image/png")})
    assert (response.status_code, response.json()["detail"]["details"]["reason"]) == (400, "TOO_MANY_PIXELS")


def test_oversize_file_is_rejected_by_the_processor_when_the_store_lets_it_in(
    api: Api, aws_clients: dict[str, Any], stack: Stack
) -> None:
    if stack.config.s3_sqs_endpoint:
        pytest.skip("LocalStack enforces content-length-range itself: tests/integration/test_store_policy.py")
    limit = Settings.from_env(stack.env()).max_upload_bytes
    data = b"\xff\xd8\xff" + b"\x00" * limit  # over MAX_UPLOAD_BYTES, claims to be small
    ticket = api.request_upload("huge.jpg", "image/jpeg", 1000)
    form = ticket["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": ("huge.jpg", data, "image/jpeg")}, timeout=60)
    meta = api.wait_until_processed(ticket["id"])
    assert (meta["status"], meta["reject_reason"]) == ("rejected", "TOO_LARGE")
    assert stored_keys(aws_clients, ticket["id"]) == []


def test_oversize_file_through_the_api_is_413(api: Api, aws_clients: dict[str, Any]) -> None:
    before = all_keys(aws_clients)
    response = api.post("/api/v1/images/upload", files={"file": ("big.jpg", b"\xff" * (5 * MIB), "image/jpeg")})
    assert response.status_code == 413
    assert response.json()["detail"]["code"] == "FILE_TOO_LARGE"
    assert all_keys(aws_clients) == before


def test_upload_url_refuses_more_than_the_limit(api: Api, stack: Stack) -> None:
    limit = Settings.from_env(stack.env()).max_upload_bytes
    response = api.post(
        "/api/v1/images/upload-url",
        json={"filename": "x.jpg", "content_type": "image/jpeg", "size": limit + 1},
    )
    assert (response.status_code, response.json()["detail"]["code"]) == (413, "FILE_TOO_LARGE")


@pytest.mark.parametrize(
    ("fixture", "reason"),
    # (IMG_5195.HEIC was here as "unsupported" until issue 12: tests/integration/test_photo_formats_http.py)
    [("corrupted.jpg", {"CORRUPT", "TRUNCATED"})],
)
def test_damaged_and_unsupported_camera_files_are_cleanly_rejected(
    api: Api, aws_clients: dict[str, Any], fixture: str, reason: set[str]
) -> None:
    data = (FIXTURES / fixture).read_bytes()
    ticket = api.direct_upload(data, fixture, "image/jpeg")
    meta = api.wait_until_processed(ticket["id"])
    assert meta["status"] == "rejected"
    assert meta["reject_reason"] in reason
    assert stored_keys(aws_clients, ticket["id"]) == []


def test_filename_with_path_and_control_characters_is_sanitized(api: Api) -> None:
    ticket = api.request_upload('../../etc/pass\r\nX-Evil: 1\x00"wd.jpg', "image/jpeg", 10)
    meta = api.get(f"/api/v1/images/{ticket['id']}").json()
    assert meta["filename"] == "passX-Evil: 1wd.jpg"
