"""Functional tier: services and routes in-process, AWS emulated by moto's ``mock_aws``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import composition
from chalicelib.settings import get_settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef
    from mypy_boto3_sqs import SQSClient


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at cost 4 in this tier (cost 12 takes ~250 ms a hash); tests/unit/test_passwords.py checks that the
    default is 12, and the integration tier runs with it."""
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    composition.reset()


STRICT_PURGE = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"


class Account:
    """The package's one emulated AWS account: provisioned once, emptied after every test.

    A fresh ``mock_aws`` account per test cost ~3 s each (a new boto3 default session reloads every service
    model, and provisioning makes its clients again); here the account, its bucket, queues and tables stay,
    and each test ends with their contents deleted. A test that changed the set of resources (deleted a queue,
    made a bucket) gets the slow path: everything is deleted and the next test provisions again.
    """

    def __init__(self) -> None:
        self.resources: tuple[frozenset[str], frozenset[str], frozenset[str]] | None = None
        self._clients: tuple[S3Client, SQSClient, DynamoDBClient] | None = None

    @property
    def clients(self) -> tuple[S3Client, SQSClient, DynamoDBClient]:
        if self._clients is None:
            import boto3

            self._clients = tuple(boto3.client(name, region_name="us-east-1") for name in ("s3", "sqs", "dynamodb"))  # type: ignore[assignment]
        assert self._clients is not None
        return self._clients

    def current(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        s3, sqs, dynamodb = self.clients
        return (
            frozenset(bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])),
            frozenset(sqs.list_queues().get("QueueUrls", [])),
            frozenset(dynamodb.list_tables()["TableNames"]),
        )

    def ensure_provisioned(self) -> None:
        if self.resources is None:
            from scripts.provision import provision

            provision(get_settings())
            self.resources = self.current()

    def clean(self) -> None:
        """Empty every bucket (objects and open multipart uploads), queue and table; if the resources themselves
        changed, delete them all."""
        if self.resources is None:
            return
        buckets, queues, tables = self.current()
        changed = (buckets, queues, tables) != self.resources
        s3, sqs, dynamodb = self.clients
        for bucket in buckets:
            for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys: list[ObjectIdentifierTypeDef] = [{"Key": item["Key"]} for item in listing.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            # Open multipart uploads are not objects: listing does not show them and deleting objects keeps them.
            for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            if changed:
                s3.delete_bucket(Bucket=bucket)
        for url in queues:
            if changed:
                sqs.delete_queue(QueueUrl=url)
            else:
                sqs.purge_queue(QueueUrl=url)
        for table in tables:
            if changed:
                dynamodb.delete_table(TableName=table)
                continue
            key_names = [key["AttributeName"] for key in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            for scanned in dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in scanned.get("Items", []):
                    dynamodb.delete_item(TableName=table, Key={name: item[name] for name in key_names})
        if changed:
            self.resources = None


@pytest.fixture(scope="package")
def _account() -> Iterator[Account]:
    """One ``mock_aws`` account for this package (not the session: the integration tier talks to a real
    emulator over HTTP and must not find botocore patched)."""
    # Real SQS allows one PurgeQueue a minute per queue; tests and the cleanup purge far more often than that.
    strict_purge = os.environ.get(STRICT_PURGE)
    os.environ[STRICT_PURGE] = "false"
    try:
        with mock_aws():
            yield Account()
    finally:
        if strict_purge is None:
            del os.environ[STRICT_PURGE]
        else:
            os.environ[STRICT_PURGE] = strict_purge


@pytest.fixture
def aws(_account: Account) -> Iterator[None]:
    """An emulated account with this project's bucket, queue + DLQ and tables, empty at the start of the test."""
    composition.reset()
    # Read the settings now, from the test's environment (STAGE=test): chalice's test client swaps in the
    # config.json stage's variables only while a request runs.
    get_settings()
    _account.ensure_provisioned()
    yield
    composition.reset()
    _account.clean()


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
