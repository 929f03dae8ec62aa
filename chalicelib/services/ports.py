"""Ports: what the services need from collaborators they do not own, as Protocols (fakes in tests)."""

from __future__ import annotations

from typing import Protocol


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
