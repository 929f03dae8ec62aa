"""Structured logs: one JSON object per line, carrying the correlation id of the request being served.

Fields: ``timestamp``, ``level``, ``logger``, ``message``, ``correlation_id`` (when one is set), the ``extra``
fields the call passed (``log.info("image ready", extra={"image_id": ...})``) and, for errors, ``exception``.

The correlation id is the API request's id (API Gateway's ``requestId``; locally a generated one). The
upload-url request stores it on the image record (``Image.request_id``) and the processor sets it again while
it handles that image, so one id follows an upload from the API call through S3 and SQS to ``ready``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def current_correlation_id() -> str | None:
    return _correlation_id.get()


@contextlib.contextmanager
def correlation(correlation_id: str | None) -> Iterator[None]:
    """Log with ``correlation_id`` inside the block (None leaves the current one in place)."""
    if correlation_id is None:
        yield
        return
    token = _correlation_id.set(correlation_id)
    try:
        yield
    finally:
        _correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        correlation_id = _correlation_id.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr


def configure(level: str = "INFO") -> None:
    """JSON logs on the root logger; idempotent.

    In Lambda the runtime already installed a handler on the root logger (it adds the request id and ships
    to CloudWatch): it gets our formatter. Elsewhere, handlers writing to stdout/stderr get it too (so the
    worker's ``basicConfig`` does not print every line twice), and one stderr handler is added if none exists.
    """
    root = logging.getLogger()
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    formatter = JsonFormatter()
    console: list[logging.Handler] = [
        h
        for h in root.handlers
        if type(h).__name__ == "LambdaLoggerHandler"
        or isinstance(h, _StderrHandler)
        or (type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stdout, sys.stderr))
    ]
    if not console:
        console = [_StderrHandler()]
        root.addHandler(console[0])
    for handler in console:
        handler.setFormatter(formatter)
