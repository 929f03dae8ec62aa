"""Create the local stack's AWS resources on an emulator (moto server or LocalStack), idempotently.

One source: the bucket (CORS, lifecycle, the ``originals/`` ObjectCreated notification), the processing queue
with its dead-letter queue and redrive policy, and the tables (keys, indexes, TTL) are read from the deployed
template's own resource definitions (``infra/template.py``'s ``build()``) and translated into the API calls
CloudFormation would make. Only the names (from settings) and the queue's visibility timeout (short locally,
so a failing message reaches the DLQ within a test) are local.

    python scripts/provision.py            # uses the environment (AWS_ENDPOINT_URL..., BUCKET_NAME, ...)
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.exceptions import ClientError

from chalicelib.queues import dead_letter_queue_name
from chalicelib.settings import Settings, get_settings
from infra import template as merge_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("provision")

LOCAL_VISIBILITY_TIMEOUT_SECONDS = 5  # local worker: retry fast so failures reach the DLQ within a test
Json = dict[str, Any]


def template_resources() -> Json:
    resources: Json = merge_template.build()["Resources"]
    return resources


def resolve(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` replaced from ``names`` (``Name`` / ``Res.Attr``)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return names[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            resource, attribute = value["Fn::GetAtt"]
            return names[f"{resource}.{attribute}"]
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{([^}]+)\}", lambda match: names[match.group(1)], value["Fn::Sub"])
        return {key: resolve(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    return value


def queue_policy(queue_arn: str, bucket_name: str) -> Json:
    """S3 may send this bucket's events to the queue (LocalStack checks; moto does not)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket_name}"}},
            }
        ],
    }


def ensure_queues(
    sqs: SQSClient, settings: Settings, *, visibility_timeout: int, resources: Json | None = None
) -> tuple[str, str]:
    """Create the processing queue and its DLQ as the template declares them; returns (queue URL, queue ARN)."""
    resources = resources or template_resources()
    dlq_properties = resources["DeadLetterQueue"]["Properties"]
    queue_properties = resources["ProcessingQueue"]["Properties"]
    dlq_url = sqs.create_queue(QueueName=dead_letter_queue_name(settings.queue_name))["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": str(dlq_properties["MessageRetentionPeriod"])}
    )
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=settings.queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = resolve(queue_properties["RedrivePolicy"], {"DeadLetterQueue.Arn": dlq_arn})
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MessageRetentionPeriod": str(queue_properties["MessageRetentionPeriod"]),
            "RedrivePolicy": json.dumps(redrive),
            "Policy": json.dumps(queue_policy(queue_arn, settings.bucket_name)),
        },
    )
    return queue_url, queue_arn


def bucket_cors(properties: Json, site_origin: str) -> Any:
    """The template's ``CorsConfiguration`` as the S3 API spells it."""
    rules = resolve(properties["CorsConfiguration"]["CorsRules"], {"SiteOrigin": site_origin})
    renamed = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {"CORSRules": [{renamed.get(key, key): value for key, value in rule.items()} for rule in rules]}


def bucket_lifecycle(properties: Json) -> Any:
    """The template's ``LifecycleConfiguration`` as the S3 API spells it."""
    rules = []
    for rule in properties["LifecycleConfiguration"]["Rules"]:
        api_rule: Json = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
        if "ExpirationInDays" in rule:
            api_rule["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            api_rule["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        rules.append(api_rule)
    return {"Rules": rules}


def bucket_notification(properties: Json, queue_arn: str) -> Any:
    """The template's ``NotificationConfiguration`` (queue targets) as the S3 API spells it."""
    configurations = []
    for entry in resolve(
        properties["NotificationConfiguration"]["QueueConfigurations"], {"ProcessingQueue.Arn": queue_arn}
    ):
        configuration: Json = {"QueueArn": entry["Queue"], "Events": [entry["Event"]]}
        if "Filter" in entry:
            configuration["Filter"] = {"Key": {"FilterRules": entry["Filter"]["S3Key"]["Rules"]}}
        configurations.append(configuration)
    return {"QueueConfigurations": configurations}


def ensure_bucket(s3: S3Client, settings: Settings, queue_arn: str, *, resources: Json | None = None) -> None:
    properties = (resources or template_resources())["ImagesBucket"]["Properties"]
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
    s3.put_bucket_cors(Bucket=settings.bucket_name, CORSConfiguration=bucket_cors(properties, settings.site_origin))
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.bucket_name, LifecycleConfiguration=bucket_lifecycle(properties)
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket_name, NotificationConfiguration=bucket_notification(properties, queue_arn)
    )


def ensure_table(dynamodb: DynamoDBClient, name: str, properties: Json) -> None:
    """One table as the template declares it: keys, attributes, indexes, billing and TTL."""
    declared = {key: properties[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode")}
    if "GlobalSecondaryIndexes" in properties:
        declared["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    try:
        dynamodb.create_table(TableName=name, **declared)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    if "TimeToLiveSpecification" in properties:
        try:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])
        except ClientError as exc:
            # Already enabled is fine; anything else is not.
            if "already enabled" not in str(exc).lower():
                raise


def ensure_tables(dynamodb: DynamoDBClient, settings: Settings, *, resources: Json | None = None) -> None:
    resources = resources or template_resources()
    ensure_table(dynamodb, settings.images_table, resources["ImagesTable"]["Properties"])
    ensure_table(dynamodb, settings.users_table, resources["UsersTable"]["Properties"])


def provision(settings: Settings | None = None, *, visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT_SECONDS) -> None:
    settings = settings or get_settings()
    resources = template_resources()
    sqs = boto3.client("sqs", region_name=settings.region)
    s3 = boto3.client("s3", region_name=settings.region)
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    _, queue_arn = ensure_queues(sqs, settings, visibility_timeout=visibility_timeout, resources=resources)
    ensure_bucket(s3, settings, queue_arn, resources=resources)
    ensure_tables(dynamodb, settings, resources=resources)
    log.info("provisioned bucket %s, queue %s, tables", settings.bucket_name, settings.queue_name)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    provision()
