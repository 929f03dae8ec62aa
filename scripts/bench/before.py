"""The pipeline as it was before issue 13's speed-ups, for before/after ratios measured in the same run.

Only what changed is reproduced here (benchmark code, never imported by the product):

- the JPEG scan walk took one regex match and one Python step per marker (``_skip_scan`` below, verbatim in
  behaviour from the commit before the change);
- the served copy and its hashes were made after the decode, on the caller's thread.

:func:`patched` swaps them into ``chalicelib.imaging`` for the duration of a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from chalicelib.errors import InvalidImage, RejectReason
from chalicelib.imaging import jpeg, pipeline

_SCAN_MARKER: Final = re.compile(rb"\xff+([^\x00\xff])")
_RST = range(0xD0, 0xD8)


def per_marker_skip_scan(data: bytes, pos: int) -> int:
    """The old walk: skip entropy-coded data marker by marker, checking the RST0..7 sequence."""
    expected = 0
    for match in _SCAN_MARKER.finditer(data, pos):
        marker = match.group(1)[0]
        if marker in _RST:
            if marker - 0xD0 != expected:
                raise InvalidImage(
                    RejectReason.CORRUPT, f"JPEG restart markers are out of sequence at byte {match.start()}."
                )
            expected = (expected + 1) % 8
            continue
        return match.start()
    return len(data)


class Inline:
    """``pipeline._Beside`` without the thread: the work runs when it is asked for, after the decode."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn

    def wait(self) -> None:
        return None

    def result(self) -> Any:
        return self._fn()


@contextmanager
def patched(*, walk: bool = True, sequential: bool = True) -> Iterator[None]:
    saved = jpeg._skip_scan, pipeline._Beside
    try:
        if walk:
            jpeg._skip_scan = per_marker_skip_scan
        if sequential:
            pipeline._Beside = Inline  # type: ignore[assignment,misc]
        yield
    finally:
        jpeg._skip_scan, pipeline._Beside = saved  # type: ignore[misc]
