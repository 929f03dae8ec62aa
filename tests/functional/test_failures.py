"""Failure modes: outages answer 503 with a code, surprises answer a bare 500, poison messages reach the DLQ."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.errors import StorageUnavailable
from chalicelib.services.processor import object_keys
from chalicelib.settings import get_settings
from tests.conftest import make_jpeg
from tests.functional.conftest import OPERATOR, body

JSON = {"Content-Type": "application/json"}
CLOSED_PORT = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused at once


def test_unexpected_error_is_a_bare_500_that_leaks_nothing(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("secret table name and a stack trace")

    monkeypatch.setattr(composition.image_service(), "gallery", explode)
    response = client.http.get("/api/v1/images")
    assert response.status_code == 500
    assert body(response) == {
        "detail": {"code": "INTERNAL_ERROR", "message": "An internal error occurred.", "details": {}}
    }
    assert b"secret" not in response.body


def test_metadata_store_outage_is_503_with_a_code(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", CLOSED_PORT)
    composition.reset()
    response = client.http.get("/api/v1/images/some-id")
    assert response.status_code == 503
    assert body(response)["detail"]["code"] == "METADATA_UNAVAILABLE"
    assert response.headers["Retry-After"]
    health = client.http.get("/health/details", headers=OPERATOR)
    assert health.status_code == 503
    assert body(health)["checks"]["metadata"] == {"status": "down", "code": "METADATA_UNAVAILABLE"}


def test_storage_outage_during_api_upload_is_503_and_leaves_no_record(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = composition.image_service()

    def refuse(*_: object, **__: object) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(service.storage, "put", refuse)
    boundary = "b0undary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + make_jpeg(64, 48)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.http.post(
        "/api/v1/images/upload", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, body=form
    )
    assert response.status_code == 503
    assert body(response)["detail"]["code"] == "STORAGE_UNAVAILABLE"
    table = boto3.resource("dynamodb").Table(get_settings().images_table)
    assert table.scan()["Count"] == 0


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = body(
        client.http.post(
            "/api/v1/images/upload-url",
            headers=JSON,
            body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": len(make_jpeg())}),
        )
    )
    settings = get_settings()
    boto3.client("s3").put_object(Bucket=settings.bucket_name, Key=f"originals/{ticket['id']}", Body=make_jpeg())
    processor = composition.processor()

    def refuse(*_: object, **__: object) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(processor.storage, "put", refuse)  # a transient fault that never clears
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=f"{settings.queue_name}-dlq")["QueueUrl"]
    from chalicelib.queues import MAX_RECEIVE_COUNT

    failed_receives = 0
    for _ in range(MAX_RECEIVE_COUNT + 2):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        result = processor.handle_sqs_batch([{"messageId": m["MessageId"], "body": m["Body"]} for m in messages])
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        failed_receives += len(failed)
        for message in messages:  # what the event source does with the successes (the s3:TestEvent)
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert failed_receives == MAX_RECEIVE_COUNT  # tried exactly maxReceiveCount times, then moved on
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert len(dead) == 1
    assert f"originals/{ticket['id']}" in object_keys(dead[0]["Body"])
    assert body(client.http.get(f"/api/v1/images/{ticket['id']}"))["status"] == "pending"  # nothing half-done


def test_only_the_failing_message_of_a_batch_is_retried(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    processor = composition.processor()
    bad = {
        "messageId": "m-bad",
        "body": json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "originals/x"}}}]}),
    }
    good = {"messageId": "m-good", "body": json.dumps({"Event": "s3:TestEvent"})}
    junk = {"messageId": "m-junk", "body": "not json at all"}

    def boom(key: str) -> str:
        raise StorageUnavailable()

    monkeypatch.setattr(processor, "handle_object", boom)
    assert processor.handle_sqs_batch([good, bad, junk]) == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
