"""Classes of issue 11, item 7: leaks and loose ends.

- Leaks: anonymous ``/health`` shows nothing of the inside and calls nothing; the detailed view needs the
  operator token (constant-time compare; no token configured means nobody).
- Download names: a file downloads with the extension of what is really stored, never the uploader's.
- Orphans: an image deleted while it is processing leaves no renditions behind.
- Quota: a rejected upload gives its reservation back (once: deleting it later releases nothing again).
- Redrive window: the originals' lifecycle and a failing upload's pending record outlive the dead-letter queue.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.api.health import is_operator
from chalicelib.errors import StorageUnavailable
from chalicelib.queues import DEAD_LETTER_RETENTION_DAYS, ORIGINALS_RETENTION_DAYS
from chalicelib.settings import get_settings
from tests.conftest import make_jpeg, make_png
from tests.functional.conftest import OPERATOR, OPERATOR_TOKEN, body, drain_queue
from tests.functional.test_ownership import multipart, sign_up, usage

JSON = {"Content-Type": "application/json"}


def stored_keys(image_id: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=get_settings().bucket_name)
    return sorted(obj["Key"] for obj in listed.get("Contents", []) if image_id in obj["Key"])


def request_upload(client: Client, data: bytes, auth: dict[str, str] | None = None) -> dict[str, Any]:
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
    response = client.http.post("/api/v1/images/upload-url", headers={**JSON, **(auth or {})}, body=json.dumps(payload))
    assert response.status_code == 201, response.body
    return dict(body(response))


def put_original(image_id: str, data: bytes) -> None:
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{image_id}", Body=data)


# --- leaks: /health --------------------------------------------------------------------------------------------


def test_leaks_anonymous_health_is_liveness_only_and_calls_no_dependency(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("public /health must not call a dependency")

    from chalicelib import queues
    from chalicelib.cache.metadata import MetadataCache
    from chalicelib.ratelimit import RateLimiter
    from chalicelib.records import ImageRecords
    from chalicelib.storage import Storage

    for owner, name in (
        (Storage, "ping"),
        (ImageRecords, "ping"),
        (queues, "queue_depth"),
        (MetadataCache, "health"),
        (RateLimiter, "status"),
    ):
        monkeypatch.setattr(owner, name, forbidden)
    response = client.http.get("/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Operator-Token": ""}, {"X-Operator-Token": "wrong"}, {"X-Operator-Token": OPERATOR_TOKEN + "x"}],
    ids=["none", "empty", "wrong", "longer"],
)
def test_leaks_health_details_need_the_operator_token(client: Client, headers: dict[str, str]) -> None:
    response = client.http.get("/health/details", headers=headers)
    assert response.status_code == 401
    assert body(response)["detail"]["code"] == "AUTHENTICATION_REQUIRED"
    assert "checks" not in response.body.decode()


def test_leaks_health_details_answer_the_operator(client: Client) -> None:
    response = client.http.get("/health/details", headers=OPERATOR)
    assert response.status_code == 200
    assert set(body(response)["checks"]) >= {"storage", "metadata", "queue", "dead_letter_queue", "cache"}


def test_leaks_without_a_configured_operator_token_nobody_gets_the_details(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", "")
    composition.reset()
    assert client.http.get("/health/details", headers={"X-Operator-Token": ""}).status_code == 401
    assert not is_operator("", "")
    assert not is_operator(None, "")


# --- download names --------------------------------------------------------------------------------------------


def _disposition(location: str) -> str:
    return parse_qs(urlsplit(location).query)["response-content-disposition"][0]


@pytest.mark.parametrize("claimed_name", ["evil.html", "evil.svg", "page.php.jpg", "no-extension", "x.HTML"])
def test_download_names_carry_the_stored_type_not_the_uploaders_extension(client: Client, claimed_name: str) -> None:
    headers, payload = multipart(make_png())
    payload = payload.replace(b'filename="a.png"', f'filename="{claimed_name}"'.encode())
    created = body(client.http.post("/api/v1/images/upload", headers=headers, body=payload))
    assert created["content_type"] == "image/png"
    disposition = _disposition(client.http.get(f"/api/v1/images/{created['id']}/file").headers["Location"])
    stem = claimed_name.rpartition(".")[0] or claimed_name
    assert f'filename="{stem}.png"' in disposition
    assert ".html" not in disposition.lower()
    assert ".svg" not in disposition


# --- orphans: delete while processing --------------------------------------------------------------------------


def test_orphans_an_image_deleted_while_processing_leaves_no_renditions(client: Client) -> None:
    data = make_jpeg(800, 600)
    ticket = request_upload(client, data)
    put_original(ticket["id"], data)
    processor = composition.processor()
    records = processor.records
    original_mark_ready = records.mark_ready

    def delete_first(pending: Any, ready: Any, content: Any = None) -> Any:
        # The owner deletes the image after its renditions were written, before the record turns ready.
        deleted = client.http.delete(
            f"/api/v1/images/{ticket['id']}", headers={"X-Delete-Token": ticket["delete_token"]}
        )
        assert deleted.status_code == 204
        return original_mark_ready(pending, ready, content)

    records.mark_ready = delete_first  # type: ignore[method-assign]
    try:
        assert drain_queue() == []
    finally:
        records.mark_ready = original_mark_ready  # type: ignore[method-assign]
    assert stored_keys("") == []  # nothing at all: no original, no generation (content/...) of renditions
    assert client.http.get(f"/api/v1/images/{ticket['id']}").status_code == 404


# --- quota: rejected uploads -----------------------------------------------------------------------------------


def test_quota_a_rejected_upload_gives_its_reservation_back_once(client: Client) -> None:
    ada = sign_up(client, "ada")
    junk = b"this is not an image at all, just text " * 50
    ticket = request_upload(client, junk, ada)
    assert usage(client, ada) == {"image_count": 1, "bytes_used": len(junk)}
    put_original(ticket["id"], junk)
    assert drain_queue() == []
    assert body(client.http.get(f"/api/v1/images/{ticket['id']}", headers=ada))["status"] == "rejected"
    assert usage(client, ada) == {"image_count": 0, "bytes_used": 0}
    kept = request_upload(client, make_jpeg(64, 48), ada)  # something still counted, to see a double release
    assert client.http.delete(f"/api/v1/images/{ticket['id']}", headers=ada).status_code == 204
    assert usage(client, ada) == {"image_count": 1, "bytes_used": len(make_jpeg(64, 48))}
    assert kept["id"]


# --- redrive window --------------------------------------------------------------------------------------------


def test_redrive_window_a_failing_upload_keeps_its_pending_record_as_long_as_the_dead_letter_queue(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_jpeg(64, 48)
    ticket = request_upload(client, data)
    put_original(ticket["id"], data)
    processor = composition.processor()

    def refuse(*_: object, **__: object) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(processor.storage, "put", refuse)
    failures = drain_queue_once()
    assert len(failures) == 1
    record = processor.records.get(ticket["id"])
    assert record.status == "pending"
    assert record.expires_at is not None
    assert record.expires_at >= processor.clock() + DEAD_LETTER_RETENTION_DAYS * 24 * 3600
    assert ORIGINALS_RETENTION_DAYS > DEAD_LETTER_RETENTION_DAYS


def drain_queue_once() -> list[str]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue_name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    result = composition.processor().handle_sqs_batch(
        [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
    )
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]
