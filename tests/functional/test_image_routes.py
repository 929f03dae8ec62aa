"""Routes in-process (chalice.test.Client) against moto's mock_aws: the lifecycle and its error paths."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.edge_resolver import edge_record, resolve
from chalicelib.settings import get_settings
from tests.conftest import make_jpeg
from tests.functional.conftest import body, drain_queue

JSON = {"Content-Type": "application/json"}


def request_upload(client: Client, **overrides: object) -> dict[str, Any]:
    payload = {"filename": "holiday.jpg", "content_type": "image/jpeg", "size": 1234, **overrides}
    response = client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps(payload))
    assert response.status_code == 201, response.body
    created: dict[str, Any] = body(response)
    return created


def put_original(image_id: str, data: bytes) -> None:
    boto3.client("s3").put_object(
        Bucket=get_settings().bucket_name, Key=f"originals/{image_id}", Body=data, ContentType="image/jpeg"
    )


def test_upload_url_writes_pending_record_and_binds_the_form(client: Client) -> None:
    ticket = request_upload(client)
    assert ticket["status"] == "pending"
    assert ticket["delete_token"]
    assert ticket["upload"]["fields"]["key"] == f"originals/{ticket['id']}"
    assert ticket["upload"]["fields"]["Content-Type"] == "image/jpeg"
    response = client.http.get(f"/api/v1/images/{ticket['id']}")
    assert response.status_code == 200
    assert body(response)["status"] == "pending"
    assert body(response)["thumbnail_ready"] is False


def test_presigned_upload_reaches_ready_with_dimensions_and_thumbnails(client: Client) -> None:
    ticket = request_upload(client, size=len(make_jpeg(1600, 1200)))
    put_original(ticket["id"], make_jpeg(1600, 1200))
    assert drain_queue() == []
    meta = body(client.http.get(f"/api/v1/images/{ticket['id']}"))
    assert meta["status"] == "ready"
    assert (meta["width"], meta["height"]) == (1600, 1200)
    assert sorted(meta["thumbnails"], key=int) == ["150", "300", "600"]
    file_response = client.http.get(f"/api/v1/images/{ticket['id']}/file")
    assert file_response.status_code == 302
    # The renditions are content-addressed (shared with any identical upload); the edge serves this record's
    # direct link from exactly that key.
    assert "/content/" in file_response.headers["Location"]
    record = composition.image_records().get(ticket["id"])
    lookup = {record.ref: edge_record(asdict(record))}.get
    assert resolve(urlsplit(meta["links"]["direct"]).path, lookup) == record.file_key


def test_duplicate_event_changes_nothing_twice(client: Client) -> None:
    ticket = request_upload(client, size=len(make_jpeg(800, 600)))
    put_original(ticket["id"], make_jpeg(800, 600))
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue_name)["QueueUrl"]
    message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0]
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # the same event, delivered again
    assert drain_queue() == []
    meta = body(client.http.get(f"/api/v1/images/{ticket['id']}"))
    assert meta["status"] == "ready"


def _policy(ticket: dict[str, Any]) -> dict[str, Any]:
    import base64

    return dict(json.loads(base64.b64decode(ticket["upload"]["fields"]["policy"])))


@pytest.mark.parametrize("claimed", [1, 1234, 10 * 1024 * 1024])
def test_size_lie_the_upload_form_admits_exactly_the_claimed_size(client: Client, claimed: int) -> None:
    """The quota is reserved at the claim, so the form must not admit a byte more (nor fewer)."""
    conditions = _policy(request_upload(client, size=claimed))["conditions"]
    assert ["content-length-range", claimed, claimed] in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "content-length-range" and c[2] != claimed]


def test_size_lie_an_original_larger_than_its_claim_is_rejected_where_the_store_lets_it_in(client: Client) -> None:
    """moto does not enforce the form's range (S3 and LocalStack do): the processor refuses what the claim
    did not cover, and nothing of it is stored."""
    data = make_jpeg(800, 600)
    ticket = request_upload(client, size=1)
    put_original(ticket["id"], data)
    assert drain_queue() == []
    meta = body(client.http.get(f"/api/v1/images/{ticket['id']}"))
    assert (meta["status"], meta["reject_reason"]) == ("rejected", "TOO_LARGE")
    listed = boto3.client("s3").list_objects_v2(Bucket=get_settings().bucket_name)
    assert [obj["Key"] for obj in listed.get("Contents", []) if ticket["id"] in obj["Key"]] == []


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"content_type": "text/html"}, 400, "INVALID_FILE_FORMAT"),
        ({"content_type": None}, 400, "VALIDATION_ERROR"),
        ({"size": 0}, 400, "VALIDATION_ERROR"),
        ({"size": "12"}, 400, "VALIDATION_ERROR"),
        ({"size": 51 * 1024 * 1024}, 413, "FILE_TOO_LARGE"),
    ],
)
def test_upload_url_rejects_bad_claims(client: Client, payload: dict[str, Any], status: int, code: str) -> None:
    base = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    response = client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps({**base, **payload}))
    assert response.status_code == status
    detail = body(response)["detail"]
    assert detail["code"] == code
    assert isinstance(detail["message"], str)
    assert isinstance(detail["details"], dict)


def test_bad_json_is_a_validation_error(client: Client) -> None:
    response = client.http.post("/api/v1/images/upload-url", headers=JSON, body="{not json")
    assert response.status_code == 400
    assert body(response)["detail"]["code"] == "VALIDATION_ERROR"


def test_unknown_image_is_404_with_envelope(client: Client) -> None:
    response = client.http.get("/api/v1/images/does-not-exist")
    assert response.status_code == 404
    assert body(response) == {
        "detail": {
            "code": "IMAGE_NOT_FOUND",
            "message": "Image not found.",
            "details": {"id": "does-not-exist"},
        }
    }


def test_delete_needs_the_right_token(client: Client) -> None:
    ticket = request_upload(client)
    image_url = f"/api/v1/images/{ticket['id']}"
    assert body(client.http.delete(image_url))["detail"]["code"] == "DELETE_TOKEN_REQUIRED"
    wrong = client.http.delete(image_url, headers={"X-Delete-Token": "nope"})
    assert (wrong.status_code, body(wrong)["detail"]["code"]) == (403, "INVALID_DELETE_TOKEN")
    ok = client.http.delete(image_url, headers={"X-Delete-Token": ticket["delete_token"]})
    assert ok.status_code == 204
    assert client.http.get(image_url).status_code == 404


def test_wrong_method_and_media_type_use_the_envelope(client: Client) -> None:
    wrong_method = client.http.put("/api/v1/images/upload-url", headers=JSON, body="{}")
    assert wrong_method.status_code == 405
    assert body(wrong_method)["detail"]["code"] == "METHOD_NOT_ALLOWED"
    wrong_type = client.http.post("/api/v1/images/upload-url", headers={"Content-Type": "text/csv"}, body="a,b")
    assert wrong_type.status_code == 415
    assert body(wrong_type)["detail"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
