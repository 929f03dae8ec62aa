"""Class: one bad message takes good ones down (issue 11, item 2).

The processor takes SQS batches of 10. Each message must succeed or fail alone (Powertools' ``BatchProcessor``
reports just the failures), and one slow file must not run the invocation into Lambda's timeout, which would
fail the whole batch: its decode has a deadline, and no message starts without the time to finish. Proven by
batches of good uploads with a slow or poisoned one among them: the good ones end ``ready``, the bad one is
retried and finally dead-lettered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition, deadline, imaging
from chalicelib.queues import MAX_RECEIVE_COUNT
from chalicelib.services import processor as processor_module
from chalicelib.settings import get_settings
from tests.conftest import ROOT, make_jpeg
from tests.functional.conftest import body

JSON = {"Content-Type": "application/json"}


def upload(client: Client, data: bytes) -> str:
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
    ticket = body(client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps(payload)))
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=data)
    return str(ticket["id"])


def status(client: Client, image_id: str) -> str:
    return str(body(client.http.get(f"/api/v1/images/{image_id}"))["status"])


def receive_all() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue_name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    ).get("Messages", []):
        found += [dict(message) for message in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [m for m in found if "TestEvent" not in m["Body"]]


def as_records(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"messageId": m["MessageId"], "body": m["Body"], "attributes": m.get("Attributes", {})} for m in messages]


@pytest.fixture
def slow_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file ``slow_jpeg()`` takes 'forever' to decode (a CPU-bound loop, as a scan bomb would)."""
    real_process = imaging.process
    slow = slow_jpeg()

    def process(data: bytes, **kwargs: Any) -> Any:
        if data == slow:
            while True:  # burns CPU until the deadline's alarm interrupts it
                sum(range(10_000))
        return real_process(data, **kwargs)

    monkeypatch.setattr(imaging, "process", process)
    monkeypatch.setenv("PROCESSING_DEADLINE_SECONDS", "1")
    composition.reset()


def slow_jpeg() -> bytes:
    return make_jpeg(320, 240, color=(251, 7, 9))


def test_isolation_good_uploads_in_a_batch_with_a_slow_one_become_ready(client: Client, slow_files: None) -> None:
    good = [upload(client, make_jpeg(320 + i, 240)) for i in range(9)]
    slow = upload(client, slow_jpeg())
    messages = receive_all()
    assert len(messages) == 10
    started = time.monotonic()
    result = composition.processor().handle_sqs_batch(as_records(messages))
    elapsed = time.monotonic() - started
    [failure] = result["batchItemFailures"]
    slow_message = next(m for m in messages if slow in m["Body"])
    assert failure == {"itemIdentifier": slow_message["MessageId"]}
    assert [status(client, image_id) for image_id in good] == ["ready"] * 9
    assert status(client, slow) == "pending"
    # Not a timing assertion on speed: the slow file would loop forever without its deadline.
    assert elapsed < 600


def test_isolation_a_slow_file_is_retried_then_dead_lettered_while_the_good_ones_are_done(
    client: Client, slow_files: None
) -> None:
    good = [upload(client, make_jpeg(200 + i, 150)) for i in range(3)]
    slow = upload(client, slow_jpeg())
    settings = get_settings()
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=f"{settings.queue_name}-dlq")["QueueUrl"]
    for _ in range(MAX_RECEIVE_COUNT + 2):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        result = composition.processor().handle_sqs_batch(as_records(messages))
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [status(client, image_id) for image_id in good] == ["ready"] * 3
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [slow in m["Body"] for m in dead] == [True]
    assert status(client, slow) == "pending"  # nothing half-done; a redrive can still process it


def test_isolation_a_poison_message_fails_alone(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [upload(client, make_jpeg(100 + i, 80)) for i in range(4)]
    messages = receive_all()
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "originals/poison"}}}]}
    poison = {"messageId": "poison", "body": json.dumps(event)}
    processor = composition.processor()
    real = processor.handle_object

    def handle_object(key: str) -> Any:
        if key == "originals/poison":
            raise RuntimeError("a bug this message always hits")
        return real(key)

    monkeypatch.setattr(processor, "handle_object", handle_object)
    result = processor.handle_sqs_batch([*as_records(messages[:2]), poison, *as_records(messages[2:])])
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert [status(client, image_id) for image_id in good] == ["ready"] * 4


def test_isolation_no_message_starts_without_the_time_to_finish(client: Client) -> None:
    """With too little of the invocation left, messages are handed back untouched, not started and cut off."""
    image_id = upload(client, make_jpeg(64, 48))
    messages = receive_all()
    settings = get_settings()
    budget_ms = (settings.processing_deadline_seconds + processor_module.START_MARGIN_SECONDS) * 1000
    processor = composition.processor()
    result = processor.handle_sqs_batch(as_records(messages), remaining_ms=lambda: budget_ms - 1)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {m["MessageId"] for m in messages}
    assert status(client, image_id) == "pending"
    result = processor.handle_sqs_batch(as_records(messages), remaining_ms=lambda: budget_ms + 60_000)
    assert result == {"batchItemFailures": []}
    assert status(client, image_id) == "ready"


def test_isolation_the_deadline_fits_inside_the_processor_timeout() -> None:
    """A message starts only with deadline + margin left, so the two must fit in the function's timeout."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    deadline_ms = (get_settings().processing_deadline_seconds + processor_module.START_MARGIN_SECONDS) * 1000
    for stage, stage_config in config["stages"].items():
        timeout = stage_config.get("lambda_functions", {}).get("handle_sqs", {}).get("lambda_timeout")
        if timeout is not None:
            assert deadline_ms < timeout * 1000, stage


def burn_cpu_forever() -> None:
    while True:
        sum(range(10_000))


def test_isolation_deadline_interrupts_cpu_bound_work() -> None:
    with pytest.raises(deadline.DeadlineExceeded), deadline.within(0.2):
        burn_cpu_forever()
