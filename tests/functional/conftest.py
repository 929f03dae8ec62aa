"""Functional tier: services and routes in-process, AWS emulated by moto's ``mock_aws``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import composition
from chalicelib.settings import get_settings
from tests.conftest import ROOT

OPERATOR_TOKEN = "functional-tier-operator-token"
OPERATOR = {"X-Operator-Token": OPERATOR_TOKEN}  # headers of the operator's /health/details requests


@pytest.fixture(autouse=True)
def _operator_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR_TOKEN)


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at cost 4 in this tier (cost 12 takes ~250 ms a hash); tests/unit/test_passwords.py checks that the
    default is 12, and the integration tier runs with it."""
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    composition.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    """An emulated account with this project's bucket, queue + DLQ and tables."""
    from scripts.provision import provision

    with mock_aws():
        composition.reset()
        provision(get_settings())
        yield
    composition.reset()


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    import app

    with Client(app.app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


def drain_queue() -> list[str]:
    """Deliver every queued S3 event to the processor, as the SQS event source would; returns outcomes."""
    import boto3

    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    failures: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return failures
        batch = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
        result = composition.processor().handle_sqs_batch(batch)
        failures += [f["itemIdentifier"] for f in result["batchItemFailures"]]
        failed = set(failures)
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None
