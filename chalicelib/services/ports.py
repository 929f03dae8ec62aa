"""Ports: what the services need from collaborators they do not own, as Protocols (fakes in tests).

Composition (``chalicelib/composition.py``) passes the real ones: ``time.time`` as the clock, the
``chalicelib.metrics`` module (CloudWatch EMF) as the metrics sink, ``UserQuotas`` as the quota.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, Protocol

UploadPath = Literal["api", "presigned"]


class Clock(Protocol):
    """Seconds since the epoch (``time.time``); tests pass a lambda or a settable fake."""

    def __call__(self) -> float: ...


def utc_now_iso(clock: Clock) -> str:
    """The clock's time as the ISO 8601 UTC string records carry (milliseconds, ``Z``)."""
    return datetime.fromtimestamp(clock(), tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Metrics(Protocol):
    """Where the services report what happened (never raises: a metric must not fail an image)."""

    def record_upload(self, size_bytes: int, *, path: str) -> None:
        """An image became ready; ``path`` is ``api`` (multipart through the API) or ``presigned``."""
        ...

    def record_processing(self, outcome: str, duration_ms: float, *, image_id: str) -> None:
        """The processor finished an upload (``ready`` or ``rejected``) in ``duration_ms``."""
        ...

    def record_reject(self, reason: str, *, image_id: str) -> None: ...


class Quota(Protocol):
    """Per-owner counters: ``reserve`` raises a quota error when the image would not fit."""

    def reserve(self, owner: str, size: int) -> None: ...

    def release(self, owner: str, size: int) -> None: ...

    def reconcile(self, owner: str, image_count: int, bytes_used: int) -> None:
        """Overwrite the counters with a recount (they drift: expired pending uploads, lost writes)."""
        ...

    def adjust(self, owner: str, bytes_delta: int) -> None:
        """Correct the byte count once the real size of an upload is known (the reservation used the claim)."""
        ...
