"""At-least-once delivery and crashes: nothing lost, nothing done twice (real SQS semantics on moto's server)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib import catalog
from scripts.stack import Stack
from tests.conftest import make_jpeg
from tests.http_api import settled_image_objects
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def objects_of(aws_clients: dict[str, Any], image_id: str) -> list[str]:
    return settled_image_objects(aws_clients, image_id)


def s3_event(key: str) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Post",
                    "s3": {"bucket": {"name": "chitram-images"}, "object": {"key": key, "size": 1}},
                }
            ]
        }
    )


def test_the_same_event_delivered_again_changes_nothing(api: Api, aws_clients: dict[str, Any]) -> None:
    ticket = api.direct_upload(make_jpeg(900, 700))
    first = api.wait_until_processed(ticket["id"])
    before = objects_of(aws_clients, ticket["id"])
    sqs = aws_clients["sqs"]
    url = sqs.get_queue_url(QueueName="chitram-processing")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=s3_event(f"originals/{ticket['id']}"))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Event": "s3:TestEvent", "Service": "Amazon S3"}))
    wait_for_empty_queue(aws_clients)
    after = api.get(f"/api/v1/images/{ticket['id']}").json()
    assert after == first
    assert objects_of(aws_clients, ticket["id"]) == before


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    api: Api, aws_clients: dict[str, Any], stack: Stack
) -> None:
    worker = next(c for c in stack.children if c.name == "worker")
    tickets = [api.direct_upload(make_jpeg(3000 + i, 2000)) for i in range(6)]
    worker.process.kill()  # SIGKILL: no chance to finish or to delete what it received
    worker.process.wait()
    stack.children.remove(worker)
    worker.log_file.close()
    stack.spawn("worker", [str(worker.process.args[0]), "scripts/worker.py"])  # type: ignore[index]
    for ticket in tickets:
        meta = api.wait_until_processed(ticket["id"], timeout=60)
        assert meta["status"] == "ready"
        keys = objects_of(aws_clients, ticket["id"])
        # One served copy + three thumbnails + their companions (AVIF, WebP), none twice, no original left.
        assert len(keys) == 1 + catalog.thumbnail_files(), keys
        assert not any(key.startswith("originals/") for key in keys)
    wait_for_empty_queue(aws_clients)
    dlq = aws_clients["sqs"].get_queue_url(QueueName="chitram-processing-dlq")["QueueUrl"]
    depth = aws_clients["sqs"].get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"


def wait_for_empty_queue(aws_clients: dict[str, Any], timeout: float = 60) -> None:
    sqs = aws_clients["sqs"]
    url = sqs.get_queue_url(QueueName="chitram-processing")["QueueUrl"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if (
            attributes["ApproximateNumberOfMessages"] == "0"
            and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the queue did not drain")
