"""A wall-clock deadline for CPU-bound work (decoding one image), so one slow file cannot hold an invocation.

``within(seconds)`` arms ``SIGALRM`` for the block and raises ``DeadlineExceeded`` where the block's Python code
next runs once the time is up. Pillow decodes in chunks and returns to Python between them, so a decode is
interrupted within a chunk's time. Signals reach only the main thread: elsewhere (``chalice local``'s request
threads) the block runs unbounded, and Lambda runs handlers on the main thread. Arm it around computation
only, never around network calls: those have their own timeouts (``chalicelib/clients.py``), and an exception
in the middle of a write is the kind of surprise the cleanup code should not have to meet.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class DeadlineExceeded(Exception):
    """The block ran past its deadline. Not an ``AppError``: callers decide what a timeout means."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"exceeded its {seconds:g} s deadline")
        self.seconds = seconds


def can_enforce() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Run the block with a deadline of ``seconds`` (0 or less: no deadline).

    An interval timer already running (an outer deadline, a test runner's timeout) is respected: if it fires
    first, ours is not armed; otherwise it is suspended for the block and re-armed with what it had left.
    """
    if seconds <= 0 or not can_enforce():
        yield
        return
    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    if 0 < outer_left <= seconds:
        yield
        return

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlineExceeded(seconds)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer_left - (time.monotonic() - started)))
