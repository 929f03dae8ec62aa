"""Progress of an upload run, per file and in total: rich bars on a terminal, plain lines otherwise.

Both write to stderr, so stdout carries only results (and ``--json`` stays parseable). The plain reporter (a
pipe, a CI log) prints a line when a file starts, at every quarter, and when it ends, with the running total.
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Reporter(Protocol):
    def __enter__(self) -> Reporter: ...
    def __exit__(self, *exc: object) -> None: ...
    def start(self, key: str, label: str, size: int) -> None: ...
    def advance(self, key: str, position: int) -> None: ...
    def finish(self, key: str, outcome: str) -> None: ...


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


class RichReporter:
    """A bar per file in flight and one for the whole run."""

    def __init__(self, files: int, total_bytes: int, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self.files = files
        self.done_files = 0
        self.total = self.progress.add_task(f"total 0/{files} files", total=max(total_bytes, 1))
        self.tasks: dict[str, TaskID] = {}
        self.positions: dict[str, int] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, key: str, label: str, size: int) -> None:
        with self.lock:
            self.tasks[key] = self.progress.add_task(label, total=max(size, 1))
            self.positions[key] = 0

    def advance(self, key: str, position: int) -> None:
        with self.lock:
            delta = position - self.positions.get(key, 0)
            self.positions[key] = position
            self.progress.update(self.tasks[key], completed=position)
            self.progress.advance(self.total, delta)

    def finish(self, key: str, outcome: str) -> None:
        with self.lock:
            self.done_files += 1
            task = self.tasks.get(key)
            if task is not None:
                label = self.progress.tasks[task].description if task in self.progress.task_ids else key
                self.progress.update(task, description=f"{label} [{outcome}]")
            self.progress.update(self.total, description=f"total {self.done_files}/{self.files} files")


class PlainReporter:
    """Lines for logs: ``[3/20] a.jpg 50% (1.2/2.4 MiB) | total 40% (9.6/24.0 MiB)``."""

    def __init__(self, files: int, total_bytes: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.files = files
        self.total_bytes = max(total_bytes, 1)
        self.sent = 0
        self.done_files = 0
        self.sizes: dict[str, int] = {}
        self.positions: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.quarters: dict[str, int] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> PlainReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def _total(self) -> str:
        share = 100 * self.sent // self.total_bytes
        sent = f"{human_bytes(self.sent)}/{human_bytes(self.total_bytes)}"
        return f"total {share}% ({sent}), {self.done_files}/{self.files} files done"

    def start(self, key: str, label: str, size: int) -> None:
        with self.lock:
            self.sizes[key] = max(size, 1)
            self.positions[key] = 0
            self.labels[key] = label
            self.quarters[key] = 0
            self._line(f"{label}: uploading {human_bytes(size)} | {self._total()}")

    def advance(self, key: str, position: int) -> None:
        with self.lock:
            self.sent += position - self.positions.get(key, 0)
            self.positions[key] = position
            quarter = 4 * position // self.sizes[key]
            if quarter > self.quarters[key] and quarter < 4:
                self.quarters[key] = quarter
                self._line(f"{self.labels[key]}: {25 * quarter}% | {self._total()}")

    def finish(self, key: str, outcome: str) -> None:
        with self.lock:
            self.done_files += 1
            self._line(f"{self.labels.get(key, key)}: {outcome} | {self._total()}")


class QuietReporter:
    def __enter__(self) -> QuietReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def start(self, key: str, label: str, size: int) -> None:
        return None

    def advance(self, key: str, position: int) -> None:
        return None

    def finish(self, key: str, outcome: str) -> None:
        return None
