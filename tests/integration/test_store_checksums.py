"""The store itself refuses bytes that do not match the declared SHA-256 (LocalStack tier; moto checks none).

Both upload paths: the presigned POST (checksum in its fields and policy) answers 400 ``InvalidRequest``; a
presigned UploadPart (checksum in its signed headers) answers 400 ``BadDigest``. Each refusal is paired with a
control showing the same form or URL takes the right bytes, and the upload then completes and is processed.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests

from chalicelib.settings import Settings
from scripts.stack import Stack
from tests import multipart_client as mp
from tests.conftest import make_jpeg
from tests.http_api import Api
from tests.large_files import MIB, make_large_jpeg

pytestmark = pytest.mark.localstack


@pytest.fixture(scope="session", autouse=True)
def _on_localstack() -> None:
    assert os.environ.get("CHITRAM_S3_SQS_ENDPOINT"), (
        "the checksum tests need LocalStack: run them through scripts/localstack/run.sh (make test-localstack)"
    )


def s3_error(response: requests.Response) -> tuple[int, str]:
    root = ET.fromstring(response.content)  # noqa: S314 - our own local emulator's answer
    return response.status_code, root.findtext("Code", "")


def post_form(form: dict[str, Any], data: bytes) -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": ("a.jpg", data, "image/jpeg")}, timeout=60)


def test_presigned_post_refuses_bytes_other_than_the_declared_sha256(
    api: Api, aws_clients: dict[str, Any], stack: Stack
) -> None:
    good = make_jpeg(320, 240)
    bad = bytearray(good)
    bad[-100] ^= 0xFF  # one flipped byte, same length: only the checksum can tell
    ticket = api.request_upload("a.jpg", "image/jpeg", len(good), sha256=hashlib.sha256(good).hexdigest())
    assert s3_error(post_form(ticket["upload"], bytes(bad))) == (400, "InvalidRequest")
    bucket = Settings.from_env(stack.env()).bucket_name
    assert aws_clients["s3"].list_objects_v2(Bucket=bucket, Prefix=f"originals/{ticket['id']}").get("KeyCount") == 0
    assert post_form(ticket["upload"], good).status_code == 204
    meta = api.wait_until_processed(ticket["id"])
    assert (meta["status"], meta["sha256"]) == ("ready", hashlib.sha256(good).hexdigest())


def test_presigned_part_refuses_bytes_other_than_its_sha256_then_the_upload_completes(api: Api) -> None:
    data = make_large_jpeg(10 * MIB)
    ticket = mp.create(api, data, sha256=hashlib.sha256(data).hexdigest())
    headers = mp.credentials(ticket)
    first = mp.part_bytes(data, ticket, 1)
    [signed] = mp.sign(api, ticket, {1: first}, headers)
    corrupted = bytearray(first)
    corrupted[12345] ^= 0x01
    assert s3_error(mp.put_part(signed, bytes(corrupted))) == (400, "BadDigest")
    assert mp.listed(api, ticket, headers)["parts"] == []
    assert mp.put_part(signed, first).status_code == 200  # the same URL takes the right bytes
    mp.upload_parts(api, ticket, data, range(2, ticket["part_count"] + 1), headers)
    parts = mp.listed(api, ticket, headers)["parts"]
    assert all(p["sha256_b64"] for p in parts)  # the store kept each part's checksum
    assert mp.complete(api, ticket, headers).status_code == 200
    meta = api.wait_until_processed(ticket["id"], timeout=120)
    assert meta["status"] == "ready", meta


def test_abort_on_the_real_store_leaves_no_parts(api: Api, aws_clients: dict[str, Any], stack: Stack) -> None:
    data = b"\xff\xd8\xff" + bytes(9 * MIB)
    ticket = mp.create(api, data)
    headers = mp.credentials(ticket)
    mp.upload_parts(api, ticket, data, [1, 2], headers)
    assert api.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers).status_code == 204
    bucket = Settings.from_env(stack.env()).bucket_name
    uploads = aws_clients["s3"].list_multipart_uploads(Bucket=bucket, Prefix=f"originals/{ticket['id']}")
    assert uploads.get("Uploads", []) == []
