"""The edge's path -> key rule (chalicelib/edge_resolver.py), shared by the local edge and the CDN's function."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from chalicelib.edge_resolver import NOT_FOUND, EdgeRecord, content_disposition, edge_record, origin_request, resolve

SHORT = "AbCdEfGh_-1"
UUID = "0b7e3f52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

CONTENT = EdgeRecord(
    ref=SHORT,
    status="ready",
    visibility="public",
    file_key="content/g3N/file.jpg",
    rendition_keys=("content/g3N/150.jpg", "content/g3N/600.jpg", "content/g3N/600.webp", "content/g3N/display.jpg"),
)


def lookup_of(*records: EdgeRecord) -> Any:
    by_ref = {r.ref: r for r in records}
    return by_ref.get


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (f"/i/{SHORT}.jpg", "content/g3N/file.jpg"),
        (f"/i/{SHORT}/150.jpg", "content/g3N/150.jpg"),
        (f"/i/{SHORT}/600.webp", "content/g3N/600.webp"),
        (f"/i/{SHORT}/display.jpg", "content/g3N/display.jpg"),
    ],
)
def test_a_public_record_serves_its_own_keys(path: str, key: str) -> None:
    assert resolve(path, lookup_of(CONTENT)) == key


@pytest.mark.parametrize(
    "path",
    [
        f"/i/{SHORT}.png",  # not the served copy's type
        f"/i/{SHORT}/300.jpg",  # a rendition this record does not have
        f"/i/{SHORT}/file.jpg",  # the served copy has one path only
        f"/i/{SHORT}/../{SHORT}.jpg",
        f"/i/{SHORT}%2F600.jpg",
        f"/i/{SHORT}/600/x.jpg",
        f"/i/{SHORT}",
        "/i/short.jpg",  # not an image ref
        f"/x/{SHORT}.jpg",
        "/i/AAAAAAAAAAA.jpg",  # nobody
    ],
)
def test_anything_else_is_not_found(path: str) -> None:
    assert resolve(path, lookup_of(CONTENT)) is None


@pytest.mark.parametrize(
    ("status", "visibility"), [("ready", "private"), ("pending", "public"), ("rejected", "public")]
)
def test_private_pending_and_rejected_records_serve_nothing(status: str, visibility: str) -> None:
    record = EdgeRecord(SHORT, status, visibility, CONTENT.file_key, CONTENT.rendition_keys)
    assert resolve(f"/i/{SHORT}.jpg", lookup_of(record)) is None
    assert resolve(f"/i/{SHORT}/600.jpg", lookup_of(record)) is None


def test_unlisted_records_serve() -> None:
    record = EdgeRecord(SHORT, "ready", "unlisted", CONTENT.file_key, CONTENT.rendition_keys)
    assert resolve(f"/i/{SHORT}.jpg", lookup_of(record)) == CONTENT.file_key


def test_a_record_with_a_short_id_is_not_served_by_its_uuid() -> None:
    def lookup(ref: str) -> EdgeRecord | None:
        return CONTENT  # whatever the ref, the lookup found this record

    assert resolve(f"/i/{UUID}.jpg", lookup) is None


@pytest.mark.parametrize(
    ("file_key", "thumb"),
    [
        (f"files/{UUID}.jpg", f"thumbs/{UUID}/600.jpg"),
        (f"public/i/{UUID}.jpg", f"public/i/{UUID}/600.jpg"),
        (f"private/i/{UUID}.jpg", f"private/i/{UUID}/600.jpg"),
    ],
)
def test_records_from_before_content_addressing_serve_the_keys_they_hold(file_key: str, thumb: str) -> None:
    record = EdgeRecord(UUID, "ready", "public", file_key, (thumb,))
    assert resolve(f"/i/{UUID}.jpg", lookup_of(record)) == file_key
    assert resolve(f"/i/{UUID}/600.jpg", lookup_of(record)) == thumb


def test_an_original_is_never_served_whatever_the_record_says() -> None:
    record = EdgeRecord(SHORT, "ready", "public", f"originals/{UUID}.jpg")
    assert resolve(f"/i/{SHORT}.jpg", lookup_of(record)) is None


def test_edge_record_from_an_item() -> None:
    item = {
        "id": UUID,
        "short_id": SHORT,
        "status": "ready",
        "visibility": "public",
        "file_key": "content/g/file.jpg",
        "thumbnails": {"600": "content/g/600.jpg"},
        "display_key": "content/g/display.jpg",
    }
    record = edge_record(item)
    assert record.ref == SHORT
    assert set(record.rendition_keys) == {"content/g/600.jpg", "content/g/display.jpg"}
    assert edge_record({**item, "short_id": None}).ref == UUID


def _event(uri: str, method: str = "GET") -> dict[str, Any]:
    return {"Records": [{"cf": {"request": {"uri": uri, "method": method, "querystring": "x=1", "headers": {}}}}]}


def test_origin_request_points_the_request_at_the_key() -> None:
    answer = origin_request(_event(f"/i/{SHORT}/600.jpg"), lookup_of(CONTENT))
    assert answer["uri"] == "/content/g3N/600.jpg"
    assert parse_qs(answer["querystring"]) == {"response-content-disposition": [f'inline; filename="{SHORT}-600.jpg"']}


def test_each_record_url_names_its_own_file() -> None:
    assert content_disposition(f"/i/{SHORT}.jpg") == f'inline; filename="{SHORT}.jpg"'
    assert content_disposition(f"/i/{SHORT}/display.png") == f'inline; filename="{SHORT}-display.png"'
    assert content_disposition("/i/../x.jpg") is None


@pytest.mark.parametrize(("uri", "method"), [(f"/i/{SHORT}.png", "GET"), (f"/i/{SHORT}.jpg", "POST")])
def test_origin_request_answers_a_bare_uncached_404(uri: str, method: str) -> None:
    answer = origin_request(_event(uri, method), lookup_of(CONTENT))
    assert answer == NOT_FOUND
    assert answer["headers"]["cache-control"][0]["value"] == "no-store"
