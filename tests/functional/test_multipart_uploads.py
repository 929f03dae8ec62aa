"""Multipart uploads for large files, in-process against moto: create -> sign -> list -> complete | abort.

moto does not enforce checksums (the LocalStack tier proves the store refuses wrong bytes); here the routes'
rules are checked: who may touch an upload, the plan, missing and mis-sized parts, abort leaving nothing, and the
processor refusing bytes that do not match the declared SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from chalice.test import Client
from PIL import Image

from chalicelib import composition
from chalicelib.settings import get_settings
from tests.functional.conftest import body, drain_queue

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import MultipartUploadTypeDef

JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024
PART = 5 * MIB  # S3's smallest part size; keeps these files small


@pytest.fixture(autouse=True)
def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTIPART_PART_BYTES", str(PART))
    monkeypatch.setenv("MULTIPART_THRESHOLD_BYTES", str(PART))
    composition.reset()


@pytest.fixture(scope="module")
def big_png() -> bytes:
    """A PNG of noise (does not compress): a little over one part, so it goes up in two."""
    rng = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(rng, "PNG", compress_level=0)
    data = rng.getvalue()
    assert PART < len(data) < 2 * PART
    return data


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def create(
    client: Client, data_or_size: bytes | int, headers: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    size = data_or_size if isinstance(data_or_size, int) else len(data_or_size)
    payload = {"filename": "big.png", "content_type": "image/png", "size": size, **extra}
    response = client.http.post(
        "/api/v1/images/multipart", headers={**JSON, **(headers or {})}, body=json.dumps(payload)
    )
    assert response.status_code == 201, response.body
    created: dict[str, Any] = body(response)
    return created


def auth_of(ticket: dict[str, Any]) -> dict[str, str]:
    return {"X-Delete-Token": ticket["delete_token"]} if ticket.get("delete_token") else {}


def chunks(data: bytes, part_size: int) -> Iterator[tuple[int, bytes]]:
    for index, start in enumerate(range(0, len(data), part_size)):
        yield index + 1, data[start : start + part_size]


def sign(client: Client, ticket: dict[str, Any], parts: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    return client.http.post(
        f"/api/v1/images/{ticket['id']}/multipart/parts",
        headers={**JSON, **headers},
        body=json.dumps({"parts": parts}),
    )


def upload_parts(
    client: Client, ticket: dict[str, Any], data: bytes, headers: dict[str, str], only: set[int] | None = None
) -> list[dict[str, Any]]:
    etags: list[dict[str, Any]] = []
    for number, chunk in chunks(data, ticket["part_size"]):
        if only is not None and number not in only:
            continue
        response = sign(client, ticket, [{"part_number": number, "sha256_b64": b64sha(chunk)}], headers)
        assert response.status_code == 200, response.body
        signed = body(response)["parts"][0]
        put = requests.put(signed["url"], data=chunk, headers=signed["headers"], timeout=30)
        assert put.status_code == 200, put.text
        etags.append({"part_number": number, "etag": put.headers["ETag"]})
    return etags


def complete(
    client: Client, ticket: dict[str, Any], headers: dict[str, str], parts: list[dict[str, Any]] | None = None
) -> Any:
    return client.http.post(
        f"/api/v1/images/{ticket['id']}/multipart/complete",
        headers={**JSON, **headers},
        body=json.dumps({"parts": parts} if parts is not None else {}),
    )


def open_uploads() -> list[MultipartUploadTypeDef]:
    return boto3.client("s3").list_multipart_uploads(Bucket=get_settings().bucket_name).get("Uploads", [])


def test_create_plans_the_parts_and_opens_an_upload(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    assert ticket["status"] == "pending"
    assert (ticket["part_size"], ticket["part_count"]) == (PART, 2)
    assert ticket["delete_token"]
    assert ticket["upload_id"]
    assert [u["Key"] for u in open_uploads()] == [f"originals/{ticket['id']}"]
    assert body(client.http.get(ticket["image_url"]))["status"] == "pending"


def test_large_file_goes_up_in_parts_and_becomes_ready(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png, sha256=hashlib.sha256(big_png).hexdigest())
    headers = auth_of(ticket)
    etags = upload_parts(client, ticket, big_png, headers)
    listed = body(client.http.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=headers))
    assert (listed["size"], listed["part_size"], listed["part_count"]) == (len(big_png), PART, 2)
    assert [(p["part_number"], p["size"]) for p in listed["parts"]] == [(1, PART), (2, len(big_png) - PART)]
    response = complete(client, ticket, headers, etags)
    assert response.status_code == 200, response.body
    assert body(response)["status"] == "pending"
    assert open_uploads() == []
    assert drain_queue() == []
    meta = body(client.http.get(ticket["image_url"]))
    assert meta["status"] == "ready", meta
    assert (meta["width"], meta["height"]) == (1400, 1400)
    assert meta["sha256"] == hashlib.sha256(big_png).hexdigest()


def test_complete_without_a_part_list_uses_what_the_store_holds(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    upload_parts(client, ticket, big_png, auth_of(ticket))
    assert complete(client, ticket, auth_of(ticket)).status_code == 200
    assert drain_queue() == []
    assert body(client.http.get(ticket["image_url"]))["status"] == "ready"


def test_a_missing_part_is_refused_and_the_upload_stays_open_to_resume(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    headers = auth_of(ticket)
    upload_parts(client, ticket, big_png, headers, only={2})
    response = complete(client, ticket, headers)
    assert response.status_code == 400
    detail = body(response)["detail"]
    assert (detail["code"], detail["details"]["reason"], detail["details"]["missing"]) == (
        "VALIDATION_ERROR",
        "PARTS_MISSING",
        [1],
    )
    # Resume: ask what is there, send the rest, complete.
    listed = body(client.http.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=headers))
    have = {p["part_number"] for p in listed["parts"]}
    upload_parts(client, ticket, big_png, headers, only={1, 2} - have)
    assert complete(client, ticket, headers).status_code == 200
    assert drain_queue() == []
    assert body(client.http.get(ticket["image_url"]))["status"] == "ready"


def test_a_part_of_the_wrong_size_is_refused(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    headers = auth_of(ticket)
    upload_parts(client, ticket, big_png, headers, only={1})
    short = big_png[PART : PART + 100]  # the last part, cut short
    signed = body(sign(client, ticket, [{"part_number": 2, "sha256_b64": b64sha(short)}], headers))["parts"][0]
    assert requests.put(signed["url"], data=short, headers=signed["headers"], timeout=30).status_code == 200
    response = complete(client, ticket, headers)
    assert response.status_code == 400
    assert body(response)["detail"]["details"]["reason"] == "PARTS_WRONG_SIZE"
    assert body(response)["detail"]["details"]["wrong_size"] == [2]


def test_a_listed_etag_the_store_does_not_hold_is_refused(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    headers = auth_of(ticket)
    etags = upload_parts(client, ticket, big_png, headers)
    etags[0]["etag"] = '"0123456789abcdef0123456789abcdef"'
    response = complete(client, ticket, headers, etags)
    assert response.status_code == 400
    assert body(response)["detail"]["details"]["reason"] == "PART_MISMATCH"


def test_abort_leaves_no_parts_no_record_and_is_idempotent(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    headers = auth_of(ticket)
    upload_parts(client, ticket, big_png, headers, only={1})
    assert client.http.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers).status_code == 204
    assert open_uploads() == []
    assert client.http.get(ticket["image_url"]).status_code == 404
    assert client.http.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers).status_code == 204
    listed = client.http.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=headers)
    assert listed.status_code == 404


def test_declared_checksum_that_the_bytes_do_not_match_ends_rejected(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png, sha256="0" * 64)
    upload_parts(client, ticket, big_png, auth_of(ticket))
    assert complete(client, ticket, auth_of(ticket)).status_code == 200
    assert drain_queue() == []
    meta = body(client.http.get(ticket["image_url"]))
    assert (meta["status"], meta["reject_reason"]) == ("rejected", "CHECKSUM_MISMATCH")


def test_declared_checksum_is_of_the_upload_as_sent_not_of_the_scrubbed_copy(client: Client) -> None:
    """A file carrying a location is served without it (other bytes, another hash); the uploader declared the
    hash of what it sent, and that must still match."""
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # the GPS IFD: GPSLatitudeRef, GPSLatitude
    out = io.BytesIO()
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(out, "PNG", compress_level=0, exif=exif)
    data = out.getvalue()
    ticket = create(client, data, sha256=hashlib.sha256(data).hexdigest())
    upload_parts(client, ticket, data, auth_of(ticket))
    assert complete(client, ticket, auth_of(ticket)).status_code == 200
    assert drain_queue() == []
    meta = body(client.http.get(ticket["image_url"]))
    assert meta["status"] == "ready", meta
    assert meta["sha256"] != hashlib.sha256(data).hexdigest()  # published: the served (scrubbed) copy's hash


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 403, "DELETE_TOKEN_REQUIRED"),
        ({"X-Delete-Token": "not-the-token"}, 403, "INVALID_DELETE_TOKEN"),
    ],
)
def test_anonymous_upload_routes_need_the_delete_token(
    client: Client, headers: dict[str, str], status: int, code: str
) -> None:
    ticket = create(client, 6 * MIB)
    part = [{"part_number": 1, "sha256_b64": b64sha(b"x")}]
    responses = [
        sign(client, ticket, part, headers),
        client.http.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=headers),
        complete(client, ticket, headers),
        client.http.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers),
    ]
    for response in responses:
        assert response.status_code == status, response.body
        assert body(response)["detail"]["code"] == code
    assert len(open_uploads()) == 1


def test_owned_upload_is_the_owners_alone(client: Client) -> None:
    from tests.functional.test_ownership import sign_up

    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    ticket = create(client, 6 * MIB, headers=ada, visibility="private")
    assert ticket["delete_token"] is None
    part = [{"part_number": 1, "sha256_b64": b64sha(b"x")}]
    assert sign(client, ticket, part, ada).status_code == 200
    refused = sign(client, ticket, part, bob)
    assert refused.status_code == 404  # private: bob may not learn it exists
    assert client.http.get(f"/api/v1/images/{ticket['id']}/multipart/parts", headers=bob).status_code == 404


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        ([], "parts"),
        ([{"part_number": 0, "sha256_b64": b64sha(b"x")}], "part_number"),
        ([{"part_number": 3, "sha256_b64": b64sha(b"x")}], "part_number"),
        ([{"part_number": "1", "sha256_b64": b64sha(b"x")}], "part_number"),
        ([{"part_number": 1}], "sha256_b64"),
        ([{"part_number": 1, "sha256_b64": "not base64"}], "sha256_b64"),
        ([{"part_number": 1, "sha256_b64": hashlib.sha256(b"x").hexdigest()}], "sha256_b64"),
        ([{"part_number": 1, "sha256_b64": b64sha(b"x")}] * 101, "parts"),
    ],
)
def test_signing_refuses_bad_part_requests(client: Client, parts: list[dict[str, Any]], field: str) -> None:
    ticket = create(client, 6 * MIB)
    response = sign(client, ticket, parts, auth_of(ticket))
    assert response.status_code == 400, response.body
    assert body(response)["detail"]["details"]["field"] == field


def test_signed_part_url_is_bound_to_its_checksum(client: Client) -> None:
    ticket = create(client, 6 * MIB)
    checksum = b64sha(b"part one")
    signed = body(sign(client, ticket, [{"part_number": 1, "sha256_b64": checksum}], auth_of(ticket)))["parts"][0]
    assert signed["headers"] == {"x-amz-checksum-sha256": checksum}
    assert "x-amz-checksum-sha256" in signed["url"].lower()  # among the signed headers
    assert "partNumber=1" in signed["url"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"size": 51 * MIB}, 413, "FILE_TOO_LARGE"),
        ({"content_type": "text/html"}, 400, "INVALID_FILE_FORMAT"),
        ({"sha256": "abc"}, 400, "VALIDATION_ERROR"),
        ({"visibility": "private"}, 401, "AUTHENTICATION_REQUIRED"),
    ],
)
def test_create_refuses_bad_claims_and_opens_nothing(
    client: Client, payload: dict[str, Any], status: int, code: str
) -> None:
    base = {"filename": "a.png", "content_type": "image/png", "size": 6 * MIB}
    response = client.http.post("/api/v1/images/multipart", headers=JSON, body=json.dumps({**base, **payload}))
    assert response.status_code == status, response.body
    assert body(response)["detail"]["code"] == code
    assert open_uploads() == []


def test_completed_upload_cannot_be_completed_again(client: Client, big_png: bytes) -> None:
    ticket = create(client, big_png)
    upload_parts(client, ticket, big_png, auth_of(ticket))
    assert complete(client, ticket, auth_of(ticket)).status_code == 200
    again = complete(client, ticket, auth_of(ticket))
    assert again.status_code == 409
    assert body(again)["detail"]["code"] == "IMAGE_NOT_PENDING"


def test_upload_url_binds_a_declared_checksum_into_the_form(client: Client) -> None:
    digest = hashlib.sha256(b"whatever").hexdigest()
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 8, "sha256": digest}
    response = client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps(payload))
    assert response.status_code == 201, response.body
    fields = body(response)["upload"]["fields"]
    assert fields["x-amz-checksum-algorithm"] == "SHA256"
    assert fields["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(digest)).decode()
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-amz-checksum-sha256": fields["x-amz-checksum-sha256"]} in policy["conditions"]
    assert {"x-amz-checksum-algorithm": "SHA256"} in policy["conditions"]
