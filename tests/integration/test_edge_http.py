"""The local edge (scripts/edge.py) on the running stack: CloudFront's path rules, headers and visibility rules.

A ready public record's renditions are served from the bucket without the API seeing a request (counted in the
API's access log); an object no such record names is unreachable through ``/i/``; the site and the share pages carry the
security headers; the API is proxied as sent.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib import delivery
from scripts.stack import Stack
from tests.conftest import make_jpeg

pytestmark = pytest.mark.integration

CRAWLER = "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"


def api_requests(stack: Stack) -> list[dict[str, Any]]:
    """Every request the API served so far (its JSON access log lines)."""
    seen = []
    for line in (stack.run_dir / "api.log").read_text(errors="replace").splitlines():
        if '"api.access"' not in line:
            continue
        try:
            record = json.loads(line[line.index("{") :])
        except ValueError:
            continue
        if record.get("logger") == "api.access":
            seen.append(record)
    return seen


def settle_api_log(stack: Stack) -> int:
    """The API's request count once its log has stopped growing (lines are flushed per request)."""
    count = -1
    while (now := len(api_requests(stack))) != count:
        count = now
        time.sleep(0.3)
    return count


@pytest.fixture
def bucket(stack: Stack, aws_clients: dict[str, Any]) -> Iterator[Any]:
    """Plants objects straight in the bucket (no record names them); removes them afterwards, so the tests that
    look for leftovers (objects nothing needs) never find these."""
    s3 = aws_clients["s3"]
    name = stack.env().get("BUCKET_NAME", "chitram-images")
    planted: list[str] = []

    def put(key: str, data: bytes, content_type: str, filename: str) -> None:
        planted.append(key)
        s3.put_object(
            Bucket=name,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=delivery.IMMUTABLE_CACHE_CONTROL,
            ContentDisposition=f'inline; filename="{filename}"',
        )

    yield put
    if planted:
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": key} for key in planted]})


def test_public_renditions_come_from_the_bucket_without_the_api(stack: Stack, aws_clients: dict[str, Any]) -> None:
    jpeg = make_jpeg(640, 480)
    uploaded = requests.post(
        f"{stack.url}/api/v1/images/upload", files={"file": ("edge.jpg", jpeg, "image/jpeg")}, timeout=30
    )
    assert uploaded.status_code == 201, uploaded.text
    meta = requests.get(f"{stack.url}/api/v1/images/{uploaded.json()['id']}", timeout=10).json()
    ref = meta["short_id"]
    item = aws_clients["dynamodb"].get_item(
        TableName=stack.env().get("IMAGES_TABLE", "chitram-images"), Key={"id": {"S": meta["id"]}}
    )["Item"]
    stored = (
        aws_clients["s3"]
        .get_object(Bucket=stack.env().get("BUCKET_NAME", "chitram-images"), Key=item["file_key"]["S"])["Body"]
        .read()
    )
    before = settle_api_log(stack)
    direct = requests.get(f"{stack.url}/i/{ref}.jpg", timeout=10)
    thumb = requests.get(f"{stack.url}/i/{ref}/150.jpg", timeout=10)
    head = requests.head(f"{stack.url}/i/{ref}.jpg", timeout=10)
    assert direct.status_code == thumb.status_code == head.status_code == 200
    assert direct.content == stored
    assert direct.headers["Content-Type"] == "image/jpeg"
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert direct.headers["Cache-Control"] == delivery.IMMUTABLE_CACHE_CONTROL
    assert direct.headers["X-Content-Type-Options"] == "nosniff"
    assert direct.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    # The object is shared by every record with these bytes; each record's URL names its own file.
    assert direct.headers["Content-Disposition"] == f'inline; filename="{ref}.jpg"'
    assert thumb.headers["Content-Disposition"] == f'inline; filename="{ref}-150.jpg"'
    # A shared object's date would tell when someone first uploaded these bytes.
    assert "Last-Modified" not in direct.headers
    assert re.fullmatch(r'"[0-9a-f]{32}"', direct.headers["ETag"])
    assert head.headers["Content-Length"] == str(len(stored))
    assert head.content == b""
    etag = direct.headers["ETag"]
    revalidated = requests.get(f"{stack.url}/i/{ref}.jpg", headers={"If-None-Match": etag}, timeout=10)
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert settle_api_log(stack) == before, "an image view reached the API"


def test_nothing_without_a_record_is_reachable(stack: Stack, bucket: Any) -> None:
    secret = b"private rendition bytes"
    ref = delivery.new_short_id()
    bucket(f"files/{ref}.jpg", secret, "image/jpeg", "x.jpg")
    bucket(f"private/i/{ref}.jpg", secret, "image/jpeg", "x.jpg")
    bucket(delivery.public_key(delivery.direct_path(ref, "jpg")), secret, "image/jpeg", "x.jpg")  # no record
    bucket(f"content/{ref}/file.jpg", secret, "image/jpeg", "x.jpg")
    for path in (
        f"/i/{ref}.jpg",
        f"/i/{ref}/file.jpg",
        f"/i/../files/{ref}.jpg",
        f"/i/%2e%2e/files/{ref}.jpg",
        f"/i/..%2Ffiles%2F{ref}.jpg",
        f"/i/{ref}/../../../files/{ref}.jpg",
        "/i/",
        f"/i/{delivery.new_short_id()}.jpg",
    ):
        response = requests.get(stack.url + path, timeout=10)
        assert response.status_code in (403, 404), path
        assert secret not in response.content, path
        # Dot segments are resolved by the client (as by CloudFront) and land on the site's 404: never an image.
        assert not response.headers.get("Content-Type", "").startswith("image/"), path


def test_unnormalised_dot_segments_never_become_bucket_keys(stack: Stack, bucket: Any) -> None:
    ref = delivery.new_short_id()
    bucket(f"files/{ref}.jpg", b"private rendition bytes", "image/jpeg", "x.jpg")
    connection = http.client.HTTPConnection("127.0.0.1", stack.config.edge_port, timeout=10)
    try:
        for path in (f"/i/../files/{ref}.jpg", f"/i/..%2Ffiles%2F{ref}.jpg", f"/i/{ref}/../../files/{ref}.jpg"):
            connection.request("GET", path)  # sent verbatim: no client-side normalisation
            response = connection.getresponse()
            body = response.read()
            assert response.status == 404, path
            assert body == b"Not found\n", path
    finally:
        connection.close()


def test_images_are_read_only(stack: Stack) -> None:
    response = requests.put(f"{stack.url}/i/{delivery.new_short_id()}.jpg", data=b"x", timeout=10)
    assert response.status_code == 405


def test_site_pages_carry_the_security_headers(stack: Stack) -> None:
    for path in ("/", "/gallery.html", "/css/style.css"):
        response = requests.get(stack.url + path, timeout=10)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    robots = requests.get(f"{stack.url}/robots.txt", timeout=10)
    assert robots.status_code == 200
    assert "Disallow: /api/" in robots.text


def test_the_site_calls_the_api_on_its_own_origin(stack: Stack) -> None:
    config = requests.get(f"{stack.url}/config.js", timeout=10)
    assert 'API_BASE = ""' in config.text


def test_api_is_proxied_with_method_body_and_status(stack: Stack) -> None:
    created = requests.post(
        f"{stack.url}/api/v1/images/upload-url",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    missing = requests.get(f"{stack.url}/api/v1/images/{uuid.uuid4()}", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "IMAGE_NOT_FOUND"
    assert "Content-Security-Policy" not in missing.headers  # the API's own answers, untouched


def test_share_page_through_the_edge_is_readable_by_a_crawler(stack: Stack, aws_clients: dict[str, Any]) -> None:
    uploaded = requests.post(
        f"{stack.url}/api/v1/images/upload",
        files={"file": ("sunset <b>.jpg", make_jpeg(800, 600), "image/jpeg")},
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    item = aws_clients["dynamodb"].get_item(
        TableName=stack.env().get("IMAGES_TABLE", "chitram-images"), Key={"id": {"S": uploaded.json()["id"]}}
    )["Item"]
    short = item["short_id"]["S"]
    page = requests.get(f"{stack.url}/{short}", headers={"User-Agent": CRAWLER}, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert f'<meta property="og:image" content="{stack.url}/i/{short}/600.jpg">' in page.text
    assert '<meta property="og:title" content="sunset &lt;b&gt;.jpg">' in page.text
    assert '<meta name="twitter:card" content="summary_large_image">' in page.text
    oembed = requests.get(f"{stack.url}/api/v1/oembed", params={"url": f"{stack.url}/{short}"}, timeout=10)
    assert oembed.status_code == 200
    assert oembed.json()["type"] == "photo"
    # The legacy id names the same page.
    assert requests.get(f"{stack.url}/{uploaded.json()['id']}", timeout=10).status_code == 200


def test_unknown_share_refs_are_bare_404s(stack: Stack) -> None:
    response = requests.get(f"{stack.url}/{delivery.new_short_id()}", timeout=10)
    assert response.status_code == 404
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Cache-Control"] == delivery.PRIVATE_PAGE_CACHE_CONTROL
