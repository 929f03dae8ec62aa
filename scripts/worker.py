"""Local stand-in for Lambda's SQS event source: long-poll the queue, call the app's ``handle_sqs``.

``chalice local`` runs no event handlers, so this does what the event source mapping does on AWS: receive up
to 10 messages, hand them to the very function ``@app.on_sqs_message`` registered (in a Lambda-shaped event),
delete the ones it did not report in ``batchItemFailures``, and leave the rest to become visible again (after
the queue's maxReceiveCount, SQS moves them to the dead-letter queue).

    python scripts/worker.py
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import get_settings

log = logging.getLogger("worker")


def to_lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def run(stop: threading.Event, *, wait_seconds: int = 1) -> None:
    import app as chalice_app  # the deployed handler itself, not a copy of its logic

    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    queue_url = sqs.get_queue_url(QueueName=settings.queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    log.info("worker polling %s", queue_url)
    while not stop.is_set():
        try:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait_seconds,
                AttributeNames=["All"],
            ).get("Messages", [])
        except (BotoCoreError, ClientError):
            log.warning("queue unreachable; retrying", exc_info=True)
            stop.wait(1)
            continue
        if not messages:
            continue
        event = to_lambda_event([dict(m) for m in messages], queue_arn, settings.region)
        try:
            result = chalice_app.handle_sqs(event, None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            # Lambda treats a raised handler as a failure of the whole batch.
            log.exception("handler raised; the whole batch will be retried")
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        log.info("batch of %d: %d done, %d to retry", len(messages), len(done), len(failed))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(stop)


if __name__ == "__main__":
    main()
