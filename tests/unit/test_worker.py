"""The local SQS event source (scripts/worker.py): Lambda's batch semantics, and holding a batch while it runs."""

from __future__ import annotations

import os
import pstats
import threading
from pathlib import Path
from typing import Any, cast

import pytest

from scripts import worker


class FakeQueue(worker.Queue):
    def __init__(self, visibility_timeout: float = 30) -> None:
        # A fraction of a second is fine here: the worker only halves it to pace the heartbeat.
        super().__init__(
            sqs=cast(Any, None),
            url="q",
            arn="arn:aws:sqs:us-east-1:1:q",
            visibility_timeout=cast(int, visibility_timeout),
        )
        self.extended: list[list[str]] = []
        self.deleted: list[str] = []
        self.was_extended = threading.Event()

    def extend(self, messages: list[dict[str, Any]]) -> None:
        self.extended.append([m["MessageId"] for m in messages])
        self.was_extended.set()

    def delete(self, messages: list[dict[str, Any]]) -> None:
        self.deleted += [m["MessageId"] for m in messages]


def messages(*ids: str) -> list[dict[str, Any]]:
    return [{"MessageId": i, "ReceiptHandle": f"rh-{i}", "Body": "{}"} for i in ids]


def test_reported_failures_stay_in_the_queue_and_the_rest_are_deleted() -> None:
    queue = FakeQueue()
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        seen.append(event)
        return {"batchItemFailures": [{"itemIdentifier": "b"}]}

    worker.handle_batch(queue, messages("a", "b", "c"), handler, "us-east-1")
    assert queue.deleted == ["a", "c"]
    records = seen[0]["Records"]
    assert [r["messageId"] for r in records] == ["a", "b", "c"]
    assert {r["eventSourceARN"] for r in records} == {queue.arn}


def test_a_raising_handler_fails_the_whole_batch() -> None:
    queue = FakeQueue()

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    worker.handle_batch(queue, messages("a", "b"), handler, "us-east-1")
    assert queue.deleted == []


def test_a_batch_is_kept_invisible_while_its_handler_runs() -> None:
    queue = FakeQueue(visibility_timeout=0.02)

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        # Returns once the worker has extended the batch's visibility (as it must for a long batch).
        assert queue.was_extended.wait(10), "the batch's visibility was never extended"
        return {"batchItemFailures": []}

    worker.handle_batch(queue, messages("a", "b"), handler, "us-east-1")
    assert queue.extended[0] == ["a", "b"]
    assert queue.deleted == ["a", "b"]


@pytest.mark.parametrize("argv", [["--concurrency", "0"], ["--batch-size", "0"], ["--batch-size", "11"]])
def test_nonsense_concurrency_or_batch_size_is_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        worker.main(argv)
    assert exit_info.value.code == 2


def test_the_default_runs_several_invocations() -> None:
    assert worker.DEFAULT_CONCURRENCY >= 2


def test_a_batch_line_names_its_worker_process(caplog: pytest.LogCaptureFixture) -> None:
    # scripts/bench/upload_ready.py warms every worker process by reading these lines.
    from scripts.bench.upload_ready import BATCH_LINE

    caplog.set_level("INFO", logger="worker")
    worker.handle_batch(FakeQueue(), messages("a"), lambda event, context: {}, "us-east-1")
    line = next(r.getMessage() for r in caplog.records if "batch of" in r.getMessage())
    assert BATCH_LINE.findall(line.encode()) == [str(os.getpid()).encode()]


def test_profiling_writes_one_cpu_profile_per_process(tmp_path: Path) -> None:
    with worker.profiled(tmp_path / "profiles"):
        sum(range(1000))
    stats = pstats.Stats(str(tmp_path / "profiles" / f"worker-{os.getpid()}.prof"))
    assert stats.total_calls > 0  # type: ignore[attr-defined]


def test_no_profile_directory_profiles_nothing(tmp_path: Path) -> None:
    with worker.profiled(None):
        pass
    assert list(tmp_path.iterdir()) == []
