"""Create the local stack's AWS resources on an emulator (moto server or LocalStack), idempotently.

The same shape as ``infra/`` declares for AWS: a bucket whose ``originals/`` ObjectCreated events go to an SQS
queue (with a redrive policy to a dead-letter queue), a CORS rule for the site origin, and the DynamoDB tables
created from the PynamoDB models themselves (so their keys, indexes and TTL cannot drift from the code).

    python scripts/provision.py            # uses the environment (AWS_ENDPOINT_URL..., BUCKET_NAME, ...)
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.exceptions import ClientError

from chalicelib.models import ImageRecord, UserRecord, bind_tables
from chalicelib.queues import DEAD_LETTER_RETENTION_DAYS, MAX_RECEIVE_COUNT, dead_letter_queue_name
from chalicelib.settings import Settings, get_settings
from chalicelib.storage import ORIGINALS_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("provision")

# The visibility timeout must exceed the processor's timeout on AWS (infra/ sets it; a test checks the pair).
VISIBILITY_TIMEOUT_SECONDS = 120
LOCAL_VISIBILITY_TIMEOUT_SECONDS = 5  # local worker: retry fast so failures reach the DLQ within a test


def ensure_queues(sqs: SQSClient, settings: Settings, *, visibility_timeout: int) -> tuple[str, str]:
    """Create the processing queue and its DLQ; returns (queue URL, queue ARN)."""
    dlq_url = sqs.create_queue(
        QueueName=dead_letter_queue_name(settings.queue_name),
        Attributes={"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_DAYS * 24 * 3600)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=settings.queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{settings.bucket_name}"}},
            }
        ],
    }
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
            "Policy": json.dumps(policy),
        },
    )
    return queue_url, queue_arn


def ensure_bucket(s3: S3Client, settings: Settings, queue_arn: str) -> None:
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=settings.bucket_name)
        else:
            s3.create_bucket(
                Bucket=settings.bucket_name,
                CreateBucketConfiguration={"LocationConstraint": settings.region},  # type: ignore[typeddict-item]
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_bucket_cors(Bucket=settings.bucket_name, CORSConfiguration=bucket_cors(settings.site_origin))
    s3.put_bucket_lifecycle_configuration(Bucket=settings.bucket_name, LifecycleConfiguration=bucket_lifecycle())
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket_name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "originals-to-processor",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": ORIGINALS_PREFIX}]}},
                }
            ]
        },
    )


def bucket_lifecycle() -> Any:
    """The rules infra/template.py gives the deployed bucket: abandoned originals and multipart parts go after a
    day (parts of an unfinished multipart upload are invisible to listings but cost storage)."""
    return {
        "Rules": [
            {
                "ID": "expire-abandoned-originals",
                "Status": "Enabled",
                "Filter": {"Prefix": ORIGINALS_PREFIX},
                "Expiration": {"Days": 1},
            },
            {
                "ID": "abort-incomplete-multipart-uploads",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            },
        ]
    }


def bucket_cors(site_origin: str) -> Any:
    """The site may POST uploads (and PUT the parts of multipart uploads) straight to the bucket and GET what the
    API links to; no other origin. ETag is exposed: a multipart upload names each part by it."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": [site_origin],
                "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 600,
            }
        ]
    }


def ensure_tables(settings: Settings) -> None:
    bind_tables(settings)
    for model in (ImageRecord, UserRecord):
        if not model.exists():
            model.create_table(wait=True)
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    for table in (settings.images_table, settings.users_table):
        try:
            dynamodb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
            )
        except ClientError as exc:
            # Already enabled is fine; anything else is not.
            if "already enabled" not in str(exc).lower():
                raise


def provision(settings: Settings | None = None, *, visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS) -> None:
    settings = settings or get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    s3 = boto3.client("s3", region_name=settings.region)
    _, queue_arn = ensure_queues(sqs, settings, visibility_timeout=visibility_timeout)
    ensure_bucket(s3, settings, queue_arn)
    ensure_tables(settings)
    log.info("provisioned bucket %s, queue %s, tables", settings.bucket_name, settings.queue_name)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    provision()
