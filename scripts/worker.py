"""Local stand-in for Lambda's SQS event source: long-poll the queue, call the app's ``handle_sqs``.

``chalice local`` runs no event handlers, so this does what the event source mapping does on AWS: receive up
to ``--batch-size`` messages, hand them to the very function ``@app.on_sqs_message`` registered (in a
Lambda-shaped event), delete the ones it did not report in ``batchItemFailures``, and leave the rest to become
visible again (after the queue's maxReceiveCount, SQS moves them to the dead-letter queue).

Like Lambda, it runs several invocations at once: ``--concurrency`` worker processes (separate interpreters, as
separate Lambda sandboxes are, so image decoding really runs in parallel), each polling and handling one batch
at a time. A batch can take longer than the local queue's short visibility timeout (5 s, so that tests see
retries quickly); while a batch is being handled its messages' visibility is extended, as a Lambda invocation
shorter than the queue's timeout would hold them, so no other worker receives them meanwhile. Failed messages
are left alone once the handler returns: they become visible again within one visibility timeout. The worker
processes die with the parent (``PR_SET_PDEATHSIG``), so killing the worker kills every invocation in flight,
as a crashed Lambda would.

    python scripts/worker.py [--concurrency N] [--batch-size 10] [--profile-dir DIR]

``--profile-dir`` (for ``scripts/bench/upload_ready.py --profile``): each worker process runs its batches under
``cProfile`` with the process's CPU clock as the timer, and writes ``DIR/worker-<pid>.prof`` when it stops, so the
profile says where the CPU went rather than where the process waited for the emulator.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("worker")

MAX_BATCH_SIZE = 10  # SQS's limit for one receive, and the batch size app.py registers
# One process per CPU, at least two: the emulator (moto) and the API share those CPUs and are on the same
# critical path, and on the 2-CPU machines this runs on 2 processes did as well as 4 or better
# (docs/benchmarks.md, "Uploads to ready").
DEFAULT_CONCURRENCY = max(2, os.cpu_count() or 1)
_PR_SET_PDEATHSIG = 1

Stop = threading.Event | ProcessEvent


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


@dataclass
class Queue:
    sqs: SQSClient
    url: str
    arn: str
    visibility_timeout: int

    @classmethod
    def connect(cls, name: str, region: str) -> Queue:
        sqs = boto3.client("sqs", region_name=region)
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "VisibilityTimeout"])
        return cls(sqs, url, attributes["Attributes"]["QueueArn"], int(attributes["Attributes"]["VisibilityTimeout"]))

    def extend(self, messages: list[dict[str, Any]]) -> None:
        self.sqs.change_message_visibility_batch(
            QueueUrl=self.url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self.visibility_timeout}
                for i, m in enumerate(messages)
            ],
        )

    def delete(self, messages: list[dict[str, Any]]) -> None:
        self.sqs.delete_message_batch(
            QueueUrl=self.url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


@contextlib.contextmanager
def held(queue: Queue, messages: list[dict[str, Any]]) -> Iterator[None]:
    """Keep ``messages`` invisible while the handler runs: extend them every half visibility timeout."""
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(queue.visibility_timeout / 2):
            try:
                queue.extend(messages)
            except (BotoCoreError, ClientError):
                log.warning("could not extend the batch's visibility", exc_info=True)

    thread = threading.Thread(target=heartbeat, name="visibility", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def handle_batch(queue: Queue, messages: list[dict[str, Any]], handler: Callable[..., Any], region: str) -> None:
    """One invocation: the handler's partial batch failures stay in the queue, the rest are deleted."""
    event = to_lambda_event(messages, queue.arn, region)
    try:
        with held(queue, messages):
            result = handler(event, None) or {}
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    except Exception:
        # Lambda treats a raised handler as a failure of the whole batch.
        log.exception("handler raised; the whole batch will be retried")
        failed = {m["MessageId"] for m in messages}
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        queue.delete(done)
    log.info("worker %d: batch of %d: %d done, %d to retry", os.getpid(), len(messages), len(done), len(failed))


@contextlib.contextmanager
def profiled(directory: Path | None) -> Iterator[None]:
    """cProfile on the process's CPU clock into ``directory/worker-<pid>.prof``; nothing when ``directory`` is None."""
    if directory is None:
        yield
        return
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        directory.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(directory / f"worker-{os.getpid()}.prof")


def run(
    stop: Stop, *, batch_size: int = MAX_BATCH_SIZE, wait_seconds: int = 1, profile_dir: Path | None = None
) -> None:
    """One worker: poll, handle a batch, repeat until ``stop`` is set."""
    with profiled(profile_dir):
        _run(stop, batch_size=batch_size, wait_seconds=wait_seconds)


def _run(stop: Stop, *, batch_size: int, wait_seconds: int) -> None:
    import app as chalice_app  # the deployed handler itself, not a copy of its logic

    settings = get_settings()
    queue = Queue.connect(settings.queue_name, settings.region)
    log.info("worker %d polling %s (batches of up to %d)", os.getpid(), queue.url, batch_size)
    while not stop.is_set():
        try:
            messages = queue.sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=batch_size,
                WaitTimeSeconds=wait_seconds,
                AttributeNames=["All"],
            ).get("Messages", [])
        except (BotoCoreError, ClientError):
            log.warning("queue unreachable; retrying", exc_info=True)
            stop.wait(1)
            continue
        if messages:
            handle_batch(queue, [dict(m) for m in messages], chalice_app.handle_sqs, settings.region)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; elsewhere, poll for it in the loop instead."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child(
    stop: ProcessEvent, parent: int, batch_size: int, wait_seconds: int, profile_dir: Path | None = None
) -> None:
    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group; the parent decides, and tells the children through ``stop``.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _configure_logging()
    run(stop, batch_size=batch_size, wait_seconds=wait_seconds, profile_dir=profile_dir)


def run_pool(
    stop: threading.Event,
    *,
    concurrency: int,
    batch_size: int,
    wait_seconds: int = 1,
    profile_dir: Path | None = None,
) -> int:
    """``concurrency`` worker processes until ``stop`` is set or one of them dies; the exit code."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no boto3 client crosses a fork
    child_stop = context.Event()
    children = [
        context.Process(
            target=_child,
            args=(child_stop, os.getpid(), batch_size, wait_seconds, profile_dir),
            name=f"worker-{i}",
            daemon=True,
        )
        for i in range(concurrency)
    ]
    for child in children:
        child.start()
    exit_code = 0
    while not stop.wait(0.5):
        dead = next((child for child in children if not child.is_alive()), None)
        if dead is not None:
            log.error("%s exited with %s; stopping the worker", dead.name, dead.exitcode)
            exit_code = 1
            break
    child_stop.set()
    for child in children:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
            child.join()
    return exit_code


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(levelname)s %(message)s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"worker processes, each handling one batch at a time (default: one per CPU, here {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--batch-size", type=int, default=MAX_BATCH_SIZE, help="messages per batch, 1-10 (default: %(default)s)"
    )
    parser.add_argument(
        "--profile-dir", type=Path, help="profile each worker process's CPU (cProfile) into DIR/worker-<pid>.prof"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        parser.error(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")
    _configure_logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.concurrency == 1:
        run(stop, batch_size=args.batch_size, profile_dir=args.profile_dir)
        return 0
    return run_pool(stop, concurrency=args.concurrency, batch_size=args.batch_size, profile_dir=args.profile_dir)


if __name__ == "__main__":
    sys.exit(main())
