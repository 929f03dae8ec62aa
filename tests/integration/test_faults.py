"""Fault injection against a running stack of its own (issue 11, items 9 and "fault injection").

Each test breaks a part of a live local stack (not the session's shared one) and checks what a user sees: a
503 with a code in the envelope while a dependency is stalled (never a hang), recovery by itself once it is
back, and no image lost when the worker dies mid-batch or events come twice and out of order. Each prints one
``FAULT`` line of figures (requests, errors, images lost, recovery time) that docs/reliability.md quotes.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.clients import worst_call_seconds
from scripts.stack import Child, Stack, StackConfig
from tests.conftest import make_jpeg
from tests.http_api import Api

# API Gateway gives up on a request after 29 s; our answer must come well before that.
API_GATEWAY_LIMIT_SECONDS = 29


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    config = StackConfig.ephemeral(extra_env={"RATE_LIMIT_UPLOADS_PER_MINUTE": "0"})
    running = Stack(config).start(timeout=120)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(own_stack: Stack) -> Api:
    return Api(own_stack.api_url, operator_token=own_stack.config.operator_token)


def child(stack: Stack, name: str) -> Child:
    return next(c for c in stack.children if c.name == name and c.alive())


def report(fault: str, **figures: Any) -> None:
    print(f"FAULT {fault} " + json.dumps(figures), file=sys.stderr)


def test_stalled_dependency_becomes_a_503_with_a_code_and_recovers_by_itself(own_stack: Stack, api: Api) -> None:
    moto = child(own_stack, "moto")
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}
    os.killpg(moto.process.pid, signal.SIGSTOP)  # S3, SQS and DynamoDB stop answering (the port stays open)
    answers = []
    try:
        for _ in range(3):
            started = time.monotonic()
            response = api.post("/api/v1/images/upload-url", json=payload, timeout=API_GATEWAY_LIMIT_SECONDS)
            answers.append((response.status_code, response.json()["detail"]["code"], time.monotonic() - started))
    finally:
        os.killpg(moto.process.pid, signal.SIGCONT)
    resumed = time.monotonic()
    for status, code, _ in answers:
        assert status == 503
        assert code in {"METADATA_UNAVAILABLE", "STORAGE_UNAVAILABLE"}
    deadline = resumed + 60
    while api.post("/api/v1/images/upload-url", json=payload).status_code != 201:
        assert time.monotonic() < deadline, "the API did not recover after the store came back"
        time.sleep(0.2)
    recovery = time.monotonic() - resumed
    ticket = api.direct_upload(make_jpeg(320, 240))
    assert api.wait_until_processed(ticket["id"], timeout=60)["status"] == "ready"
    report(
        "store-stalled",
        requests=len(answers),
        answered_503=sum(1 for s, _, _ in answers if s == 503),
        slowest_answer_s=round(max(t for _, _, t in answers), 1),
        bound_s=worst_call_seconds(),
        recovery_s=round(recovery, 1),
        images_lost=0,
    )


def test_worker_killed_mid_batch_loses_no_image(own_stack: Stack, api: Api) -> None:
    tickets = [api.direct_upload(make_jpeg(400 + i, 300)) for i in range(8)]
    worker = child(own_stack, "worker")
    os.killpg(worker.process.pid, signal.SIGKILL)  # whatever it held comes back after the visibility timeout
    worker.process.wait()
    own_stack.spawn("worker", [sys.executable, "scripts/worker.py"])
    started = time.monotonic()
    statuses = [api.wait_until_processed(t["id"], timeout=90)["status"] for t in tickets]
    assert statuses == ["ready"] * len(tickets)
    report(
        "worker-killed",
        uploads=len(tickets),
        ready=statuses.count("ready"),
        images_lost=0,
        recovery_s=round(time.monotonic() - started, 1),
    )


def test_events_delivered_twice_and_out_of_order_change_nothing(own_stack: Stack, api: Api) -> None:
    env = own_stack.env()
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    tickets = [api.direct_upload(make_jpeg(200 + i, 150)) for i in range(4)]
    ready = [api.wait_until_processed(t["id"], timeout=60) for t in tickets]
    assert [m["status"] for m in ready] == ["ready"] * 4
    url = sqs.get_queue_url(QueueName="chitram-processing")["QueueUrl"]
    # The same notifications again, newest first, each twice; and one for an image deleted meanwhile.
    deleted = tickets[0]
    assert (
        api.delete(f"/api/v1/images/{deleted['id']}", headers={"X-Delete-Token": deleted["delete_token"]}).status_code
        == 204
    )
    for ticket in [*reversed(tickets), *tickets]:
        record = {"eventName": "ObjectCreated:Post", "s3": {"object": {"key": f"originals/{ticket['id']}"}}}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Records": [record]}))
    deadline = time.monotonic() + 60
    while int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
    ) + int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessagesNotVisible"
        ]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    after = [api.get(f"/api/v1/images/{t['id']}").json() for t in tickets[1:]]
    assert after == [api.get(f"/api/v1/images/{t['id']}").json() for t in tickets[1:]]
    for before, now in zip(ready[1:], after, strict=True):
        assert (now["status"], now["sha256"], now["thumbnails"]) == (
            before["status"],
            before["sha256"],
            before["thumbnails"],
        )
    listed = s3.list_objects_v2(Bucket="chitram-images").get("Contents", [])
    assert not [o["Key"] for o in listed if deleted["id"] in o["Key"]]
    report("events-twice-out-of-order", events=2 * len(tickets), errors=0, images_lost=0)


def test_a_redis_node_killed_under_load_costs_no_request(own_stack: Stack, api: Api) -> None:
    ids = [api.direct_upload(make_jpeg(120 + i, 90))["id"] for i in range(6)]
    for image_id in ids:
        api.wait_until_processed(image_id, timeout=60)
    statuses: list[int] = []
    victim = own_stack.redis[0]
    for round_number in range(6):
        if round_number == 2:
            victim.kill()
        for image_id in ids:
            statuses.append(api.get(f"/api/v1/images/{image_id}").status_code)
    victim.restart()
    assert set(statuses) == {200}
    report("redis-node-killed", requests=len(statuses), errors=0, images_lost=0)
