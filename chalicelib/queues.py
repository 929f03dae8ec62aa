"""SQS adapter: the processing queue and its dead-letter queue, as far as the API needs them (health, depth)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import clients
from chalicelib.errors import QueueUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

DLQ_SUFFIX = "-dlq"
# SQS hands a failing message to the processor this many times, then moves it to the dead-letter queue.
# The local provisioning, the CloudFormation template and the DLQ-arrival metric all use this one number.
MAX_RECEIVE_COUNT = 3
# How long a dead-lettered message waits for someone to look at it and redrive it (the SQS maximum).
DEAD_LETTER_RETENTION_DAYS = 14
# An original (and its pending record) must outlive its message, or a redrive finds nothing to process: the
# bucket's lifecycle rule for originals/ and the processor's hold on a failing upload both use this.
ORIGINALS_RETENTION_DAYS = DEAD_LETTER_RETENTION_DAYS + 1


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}{DLQ_SUFFIX}"


def queue_depth(queue_name: str, client: SQSClient | None = None) -> dict[str, int]:
    """Visible and in-flight message counts of one queue."""
    sqs = client or clients.sqs()
    try:
        url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    except (BotoCoreError, ClientError) as exc:
        raise QueueUnavailable(queue=queue_name) from exc
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }
