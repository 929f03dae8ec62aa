"""scripts/redrive counts the dead-letter queue on a dry run, moves every message back intact with --apply, and
stops with a one-line error (never a traceback) when a queue is missing or SQS cannot be reached."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import composition
from chalicelib.errors import StorageUnavailable
from chalicelib.queues import MAX_RECEIVE_COUNT
from chalicelib.settings import get_settings
from tests.conftest import ROOT, load_script, make_jpeg
from tests.functional.conftest import body, drain_queue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

REDRIVE = ROOT / "scripts" / "redrive"
DLQ_NAME = "chitram-processing-dlq"
QUEUE_NAME = "chitram-processing"
CLOSED_PORT = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused at once


redrive = load_script("redrive")


class Queues:
    """The processing queue and its DLQ in the emulated account, emptied of the bucket's ``s3:TestEvent``."""

    def __init__(self) -> None:
        self.sqs: SQSClient = boto3.client("sqs")
        self.main = self.sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
        self.dlq = self.sqs.get_queue_url(QueueName=DLQ_NAME)["QueueUrl"]
        self.sqs.purge_queue(QueueUrl=self.main)

    def plant(self, bodies: list[str]) -> None:
        for text in bodies:
            self.sqs.send_message(QueueUrl=self.dlq, MessageBody=text)

    def depth(self, url: str) -> tuple[int, int]:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def take_all(self, url: str) -> list[dict[str, Any]]:
        """Every message now in the queue (received and deleted)."""
        taken: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in messages:
                taken.append(dict(message))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return taken


@pytest.fixture
def queues(aws: None, caplog: pytest.LogCaptureFixture) -> Queues:
    caplog.set_level(logging.INFO, logger="redrive")
    return Queues()


def s3_event(key: str) -> str:
    return json.dumps({"Records": [{"eventName": "ObjectCreated:Post", "s3": {"object": {"key": key}}}]})


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "redrive"]


def test_dry_run_reports_the_count_and_moves_nothing(queues: Queues, caplog: pytest.LogCaptureFixture) -> None:
    queues.plant([s3_event(f"originals/img-{n}") for n in range(3)])

    assert redrive.main([]) == 0

    assert lines(caplog) == [
        f"{DLQ_NAME}: 3 visible, 0 in flight",
        f"dry run: nothing moved; --apply moves them back to {QUEUE_NAME}",
    ]
    assert queues.depth(queues.dlq) == (3, 0)
    assert queues.depth(queues.main) == (0, 0)


def test_apply_moves_every_message_back_with_its_body_intact_and_empties_the_dlq(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    # More than two receive batches, with bodies that would show any re-encoding.
    planted = [s3_event(f"originals/img-{n}") for n in range(22)] + ['{"note": "ünïcödé ✓ \\u00e9 \\n"}']
    queues.plant(planted)
    queues.sqs.send_message(
        QueueUrl=queues.dlq,
        MessageBody="with attributes",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
    )

    assert redrive.main(["--apply"]) == 0

    moved = queues.take_all(queues.main)
    assert sorted(m["Body"] for m in moved) == sorted([*planted, "with attributes"])
    (with_attributes,) = [m for m in moved if m["Body"] == "with attributes"]
    assert with_attributes["MessageAttributes"] == {"origin": {"DataType": "String", "StringValue": "test"}}
    assert queues.depth(queues.dlq) == (0, 0)
    assert lines(caplog)[-1] == f"moved 24 message(s) back to {QUEUE_NAME}"


def test_apply_moves_at_most_max_messages(queues: Queues) -> None:
    queues.plant([f"message {n}" for n in range(12)])

    assert redrive.main(["--apply", "--max", "5"]) == 0

    assert len(queues.take_all(queues.main)) == 5
    assert queues.depth(queues.dlq) == (7, 0)


def test_an_empty_dead_letter_queue_is_a_clean_no_op(queues: Queues, caplog: pytest.LogCaptureFixture) -> None:
    assert redrive.main(["--apply"]) == 0

    assert lines(caplog) == [f"{DLQ_NAME}: 0 visible, 0 in flight", f"moved 0 message(s) back to {QUEUE_NAME}"]
    assert queues.depth(queues.main) == (0, 0)
    assert queues.depth(queues.dlq) == (0, 0)


@pytest.mark.parametrize("apply", [[], ["--apply"]], ids=["dry-run", "apply"])
@pytest.mark.parametrize("missing", [DLQ_NAME, QUEUE_NAME])
def test_a_missing_queue_is_a_one_line_error_and_moves_nothing(
    queues: Queues, caplog: pytest.LogCaptureFixture, missing: str, apply: list[str]
) -> None:
    if missing == DLQ_NAME:
        queues.sqs.delete_queue(QueueUrl=queues.dlq)
    else:
        queues.plant(["still here"])
        queues.sqs.delete_queue(QueueUrl=queues.main)

    assert redrive.main(apply) == 1

    assert lines(caplog) == [f"error: queue {missing!r} does not exist (check QUEUE_NAME and the AWS account/region)"]
    assert all(record.exc_info is None for record in caplog.records)
    if missing == QUEUE_NAME:
        assert queues.depth(queues.dlq) == (1, 0)  # with nowhere to go, nothing left the DLQ


class RefusesFirstOfEachBatch:
    """The real SQS client, except that the first entry of every ``send_message_batch`` fails (throttled)."""

    def __init__(self, sqs: SQSClient) -> None:
        self._sqs = sqs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(
        self, *, QueueUrl: str, Entries: list[SendMessageBatchRequestEntryTypeDef]
    ) -> dict[str, Any]:
        first, rest = Entries[0], Entries[1:]
        successful = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=rest)["Successful"] if rest else []
        failed = {"Id": first["Id"], "SenderFault": False, "Code": "ThrottlingException", "Message": "slow down"}
        return {"Successful": successful, "Failed": [failed]}


def test_a_message_that_cannot_be_sent_stays_in_the_dead_letter_queue_and_fails_the_run(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    queues.plant([f"message {n}" for n in range(4)])

    assert redrive.main(["--apply"], sqs=RefusesFirstOfEachBatch(queues.sqs)) == 1

    assert len(queues.take_all(queues.main)) == 3
    assert queues.depth(queues.dlq) == (1, 0)  # visible again at once, not hidden for the visibility timeout
    assert lines(caplog)[-1] == f"error: 1 message(s) could not be sent and are still in {DLQ_NAME}"


def test_unreachable_sqs_is_a_one_line_error_from_the_command_line() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT")}
    env["AWS_ENDPOINT_URL_SQS"] = CLOSED_PORT
    result = subprocess.run(
        [sys.executable, str(REDRIVE), "--apply"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: cannot reach SQS to look up queue {DLQ_NAME!r}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_bad_max_is_refused_by_the_command_line(queues: Queues, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        redrive.main(["--apply", "--max", "0"])
    assert exit_.value.code == 2
    assert "--max: must be at least 1, got 0" in capsys.readouterr().err


def fail_until_dead_lettered(queues: Queues) -> None:
    """Deliver the queue's messages to the processor as the SQS event source does, until SQS gives up on them."""
    processor = composition.processor()
    for _ in range(MAX_RECEIVE_COUNT + 1):
        messages = queues.sqs.receive_message(QueueUrl=queues.main, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        result = processor.handle_sqs_batch([{"messageId": m["MessageId"], "body": m["Body"]} for m in messages])
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                queues.sqs.delete_message(QueueUrl=queues.main, ReceiptHandle=message["ReceiptHandle"])


def test_a_dead_lettered_upload_becomes_ready_once_the_fault_clears_and_it_is_redriven(
    client: Client, queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_jpeg(320, 240)
    ticket = body(
        client.http.post(
            "/api/v1/images/upload-url",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}),
        )
    )
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=f"originals/{ticket['id']}", Body=data)

    def refuse(*_: object, **__: object) -> None:
        raise StorageUnavailable()

    with monkeypatch.context() as fault:
        fault.setattr(composition.processor().storage, "put", refuse)  # the store is down for a while
        fail_until_dead_lettered(queues)
    assert queues.depth(queues.dlq) == (1, 0)
    assert queues.depth(queues.main) == (0, 0)
    assert body(client.http.get(f"/api/v1/images/{ticket['id']}"))["status"] == "pending"

    assert redrive.main(["--apply"]) == 0
    assert drain_queue() == []

    image = body(client.http.get(f"/api/v1/images/{ticket['id']}"))
    assert (image["status"], image["thumbnail_ready"], image["width"], image["height"]) == ("ready", True, 320, 240)
    assert set(image["thumbnails"]) == {"150", "300", "600"}
    assert queues.depth(queues.dlq) == (0, 0)
