"""Child processes that cannot outlive the launcher (used by the local stack and the test servers)."""

from __future__ import annotations

import contextlib
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for Popen (Linux): ask the kernel to SIGTERM the child when its parent dies.

    So a launcher killed with SIGKILL, or a crashed test run, leaves no moto/chalice/redis process behind.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
