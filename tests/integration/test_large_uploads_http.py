"""Large files over HTTP against the running stack: multipart with a resume, abort, and verify after corruption."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import catalog
from chalicelib.settings import Settings
from scripts.stack import Stack
from tests import multipart_client as mp
from tests.conftest import make_jpeg, unique_jpeg
from tests.http_api import Api
from tests.large_files import MIB, make_large_jpeg

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def forty_mib_jpeg() -> bytes:
    return make_large_jpeg(40 * MIB)


def test_forty_mib_jpeg_goes_up_in_parts_survives_an_interruption_and_becomes_ready(
    api: Api, forty_mib_jpeg: bytes
) -> None:
    import hashlib

    ticket = mp.create(api, forty_mib_jpeg, sha256=hashlib.sha256(forty_mib_jpeg).hexdigest())
    headers = mp.credentials(ticket)
    assert ticket["part_count"] >= 5
    mp.upload_parts(api, ticket, forty_mib_jpeg, [1, 2], headers)
    # The connection drops here. A new client (a reloaded page) knows only the id and the token.
    state = mp.listed(api, ticket, headers)
    done = {p["part_number"] for p in state["parts"]}
    assert done == {1, 2}
    refused = mp.complete(api, ticket, headers)
    assert refused.status_code == 400
    assert refused.json()["detail"]["details"]["missing"] == list(range(3, state["part_count"] + 1))
    mp.upload_parts(api, ticket, forty_mib_jpeg, set(range(1, state["part_count"] + 1)) - done, headers)
    assert mp.complete(api, ticket, headers).status_code == 200
    meta = api.wait_until_processed(ticket["id"], timeout=120)
    assert meta["status"] == "ready", meta
    assert meta["sha256"] == hashlib.sha256(forty_mib_jpeg).hexdigest()
    assert meta["thumbnail_ready"] is True


def test_abort_leaves_no_parts_behind(api: Api, aws_clients: dict[str, Any], stack: Stack) -> None:
    data = b"\xff\xd8\xff" + bytes(12 * MIB)
    ticket = mp.create(api, data)
    headers = mp.credentials(ticket)
    mp.upload_parts(api, ticket, data, [1], headers)
    bucket = Settings.from_env(stack.env()).bucket_name
    key = f"originals/{ticket['id']}"
    uploads = aws_clients["s3"].list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    assert [u["UploadId"] for u in uploads] == [ticket["upload_id"]]
    assert api.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers).status_code == 204
    assert aws_clients["s3"].list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", []) == []
    assert api.get(f"/api/v1/images/{ticket['id']}").status_code == 404
    assert api.delete(f"/api/v1/images/{ticket['id']}/multipart", headers=headers).status_code == 204


def test_verify_reports_a_mismatch_for_an_object_corrupted_behind_the_apis_back(
    api: Api, aws_clients: dict[str, Any], stack: Stack
) -> None:
    # Bytes nobody else has: the objects are shared with identical uploads (ADR 0013), and this one is damaged.
    ticket = api.direct_upload(unique_jpeg(800, 600))
    assert api.wait_until_processed(ticket["id"])["status"] == "ready"
    headers = {"X-Delete-Token": ticket["delete_token"]}
    report = api.get(f"/api/v1/images/{ticket['id']}/verify", headers=headers)
    assert report.status_code == 200, report.text
    assert (report.json()["result"], report.json()["ok"]) == ("match", True)
    thumbnail_roles = {"150", "300", "600"}
    companions = [c.format.extension for c in catalog.thumbnail_companions()]
    thumbnail_roles |= {f"{size}.{ext}" for size in ("150", "300", "600") for ext in companions}
    assert {o["role"] for o in report.json()["objects"]} == {"file", *thumbnail_roles}  # every stored object

    bucket = Settings.from_env(stack.env()).bucket_name
    item = aws_clients["dynamodb"].get_item(TableName="chitram-images", Key={"id": {"S": ticket["id"]}})["Item"]
    served = item["file_key"]["S"]  # where the file lives
    assert aws_clients["s3"].head_object(Bucket=bucket, Key=served)["ContentType"] == "image/jpeg"
    aws_clients["s3"].put_object(Bucket=bucket, Key=served, Body=b"bit rot", ContentType="image/jpeg")
    report = api.get(f"/api/v1/images/{ticket['id']}/verify", headers=headers).json()
    assert (report["result"], report["ok"]) == ("mismatch", False)
    by_role = {o["role"]: o["result"] for o in report["objects"]}
    assert by_role == {"file": "mismatch", **dict.fromkeys(thumbnail_roles, "match")}


def test_verify_is_for_the_owner_only(api: Api) -> None:
    ticket = api.direct_upload(make_jpeg(64, 48))
    assert api.wait_until_processed(ticket["id"])["status"] == "ready"
    refused = api.get(f"/api/v1/images/{ticket['id']}/verify")
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "DELETE_TOKEN_REQUIRED"
