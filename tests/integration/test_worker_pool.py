"""The local SQS event source runs the processor like Lambda: several invocations at once, none outliving it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.stack import Child, Stack
from tests.conftest import make_jpeg
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration


def invocations_of(parent: int) -> list[int]:
    """The worker processes a worker runs (multiprocessing's resource tracker aside)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"multiprocessing.spawn" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def the_worker(stack: Stack) -> Child:
    return next(c for c in stack.children if c.name == "worker")


def test_several_invocations_run_and_all_die_with_the_worker(api: Api, stack: Stack) -> None:
    worker = the_worker(stack)
    assert wait_until(lambda: len(invocations_of(worker.process.pid)) >= 2), "the worker started no pool"
    invocations = invocations_of(worker.process.pid)

    worker.process.kill()  # SIGKILL: the parent cannot tell its children anything
    worker.process.wait()
    stack.children.remove(worker)
    worker.log_file.close()
    assert wait_until(lambda: not any(alive(pid) for pid in invocations), timeout=30), "orphaned invocations"

    stack.spawn("worker", [worker.process.args[0], "scripts/worker.py"])  # type: ignore[index]
    ticket = api.direct_upload(make_jpeg(1200, 900))
    assert api.wait_until_processed(ticket["id"], timeout=60)["status"] == "ready"
