"""The CDN's origin-request function (``infra/edge_handler.py``) run on CloudFront's documented origin-request
event shape, against a fake lookup (no AWS): the request re-pointed at the record's key, or a bare 404."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qs

import pytest

from chalicelib.edge_resolver import EdgeRecord
from infra import edge_handler

SHORT = "Ab3dE5gH7jK"
FILE_KEY = "content/9f86d081884c7d65/file.jpg"
THUMB_KEY = "content/9f86d081884c7d65/600.webp"

# The origin-request event as the Lambda@Edge developer guide documents it (S3 origin).
EVENT: dict[str, Any] = {
    "Records": [
        {
            "cf": {
                "config": {
                    "distributionDomainName": "d111111abcdef8.cloudfront.net",
                    "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "origin-request",
                    "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                },
                "request": {
                    "clientIp": "203.0.113.178",
                    "headers": {
                        "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                        "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                        "host": [{"key": "Host", "value": "chitram-dev-images.s3.eu-west-1.amazonaws.com"}],
                    },
                    "method": "GET",
                    "origin": {
                        "s3": {
                            "authMethod": "none",
                            "customHeaders": {},
                            "domainName": "chitram-dev-images.s3.eu-west-1.amazonaws.com",
                            "path": "",
                            "region": "eu-west-1",
                        }
                    },
                    "querystring": "v=2",
                    "uri": f"/i/{SHORT}.jpg",
                },
            }
        }
    ]
}


def event(uri: str, method: str = "GET") -> dict[str, Any]:
    built = copy.deepcopy(EVENT)
    built["Records"][0]["cf"]["request"].update(uri=uri, method=method)
    return built


def record(visibility: str = "public", status: str = "ready") -> EdgeRecord:
    return EdgeRecord(ref=SHORT, status=status, visibility=visibility, file_key=FILE_KEY, rendition_keys=(THUMB_KEY,))


class FakeLookup:
    def __init__(self, found: EdgeRecord | None) -> None:
        self.found = found
        self.asked: list[str] = []

    def __call__(self, ref: str) -> EdgeRecord | None:
        self.asked.append(ref)
        return self.found


@pytest.mark.parametrize(("uri", "key"), [(f"/i/{SHORT}.jpg", FILE_KEY), (f"/i/{SHORT}/600.webp", THUMB_KEY)])
def test_a_public_rendition_is_fetched_from_its_records_key(uri: str, key: str) -> None:
    lookup = FakeLookup(record())
    answer = edge_handler.handle(event(uri), lookup)
    assert answer["uri"] == "/" + key
    # The viewer's query never reaches S3; only the record's own filename does (the object is shared, ADR 0013).
    name = uri.removeprefix(f"/i/{SHORT}").lstrip("/").replace("/", "-")
    expected = f'inline; filename="{SHORT}{"-" + name if not name.startswith(".") else name}"'
    assert parse_qs(answer["querystring"]) == {"response-content-disposition": [expected]}
    assert answer["origin"] == EVENT["Records"][0]["cf"]["request"]["origin"]  # still the images bucket
    assert lookup.asked == [SHORT]


@pytest.mark.parametrize(
    ("uri", "found"),
    [
        (f"/i/{SHORT}.jpg", record(visibility="private")),
        (f"/i/{SHORT}.jpg", record(status="pending")),
        (f"/i/{SHORT}.jpg", None),
        (f"/i/{SHORT}.png", record()),  # the served copy is a JPEG
        (f"/i/{SHORT}/900.webp", record()),  # no such rendition
        ("/i/../originals/x.jpg", record()),
    ],
)
def test_anything_else_is_a_bare_uncached_404(uri: str, found: EdgeRecord | None) -> None:
    answer = edge_handler.handle(event(uri), FakeLookup(found))
    assert answer["status"] == "404"
    assert "uri" not in answer  # a response, not a request: S3 is never asked
    assert answer["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "no-store"}]
    assert SHORT not in str(answer)
    assert "private" not in str(answer)


def test_only_reads_reach_the_bucket() -> None:
    lookup = FakeLookup(record())
    assert edge_handler.handle(event(f"/i/{SHORT}.jpg", method="POST"), lookup)["status"] == "404"
    assert lookup.asked == []


def test_the_deployed_entry_point_uses_the_baked_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    lookup = FakeLookup(record())
    monkeypatch.setattr(edge_handler, "lookup", lambda: lookup)
    assert edge_handler.handler(event(f"/i/{SHORT}.jpg"), None)["uri"] == "/" + FILE_KEY
