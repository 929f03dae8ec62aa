"""Fixed-window rate limits in Redis, on the cache node ring; fail-open when Redis is unreachable.

``RateLimiter.hit(scope, identity, limit, window_seconds)`` counts one request for ``identity`` (an IP, an
email) in ``scope`` (``upload``, ``login``...) and raises ``RateLimited`` once more than ``limit`` fall in the
window. The window starts at the identity's first request and lasts ``window_seconds``; ``retry_after`` is
what is left of it.

The count is one ``MULTI``/``EXEC`` transaction of ``INCR``, ``PEXPIRE ... NX`` and ``PTTL``: atomic, one
round trip, no Lua (so nothing to reload after a node restarts), and the expiry is set only by the request
that creates the key, so a steady trickle cannot keep a window open forever. ``PEXPIRE NX`` needs Redis 7.

The key ``rl:{scope}:{identity}`` lives on the node the ring picks for it. If that node fails, the count
restarts on the next node: a client may get up to one extra window's worth, which beats refusing uploads.
When no node answers, requests pass (fail-open), a warning is logged at most once a minute, and
``status()`` reports ``disabled`` so /health can say so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal

from chalicelib.cache.nodes import DISABLED, Node, RedisNodes
from chalicelib.errors import RateLimited

__all__ = ["RateLimitStatus", "RateLimiter", "rate_limit_key"]

logger = logging.getLogger(__name__)

RateLimitStatus = Literal["enabled", "disabled", "degraded"]

FAIL_OPEN_WARNING_PERIOD = 60.0


def rate_limit_key(scope: str, identity: str) -> str:
    return f"rl:{scope}:{identity}"


class RateLimiter:
    """Per-identity request limits over ``RedisNodes`` (or none: then every hit passes)."""

    def __init__(self, nodes: RedisNodes | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._nodes = nodes if nodes is not None and len(nodes) else None
        self._clock = clock
        self._last_warning: float | None = None

    def hit(self, scope: str, identity: str, limit: int, window_seconds: int) -> None:
        """Count one request; raise ``RateLimited(retry_after=...)`` if it is over ``limit`` for the window.

        ``limit <= 0`` means unlimited (nothing is counted).
        """
        if limit <= 0 or self._nodes is None:
            return
        if window_seconds < 1:
            raise ValueError(f"window_seconds must be >= 1, got {window_seconds}")
        key = rate_limit_key(scope, identity)
        window_ms = window_seconds * 1000

        def count(node: Node) -> tuple[int, int]:
            pipe = node.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.pexpire(key, window_ms, nx=True)
            pipe.pttl(key)
            replies: list[Any] = pipe.execute()
            return int(replies[0]), int(replies[2])

        result = self._nodes.execute(key, count)
        if result is DISABLED:
            self._warn_fail_open(scope)
            return
        hits, ttl_ms = result
        if hits > limit:
            # PTTL is -1 only if the key somehow lost its expiry; then the whole window is the honest answer.
            remaining_ms = ttl_ms if ttl_ms > 0 else window_ms
            raise RateLimited(retry_after=math.ceil(remaining_ms / 1000), scope=scope, limit=limit)

    def status(self) -> RateLimitStatus:
        """``enabled``: every node up; ``degraded``: some node down (limits enforced, counts for its keys
        restarted elsewhere); ``disabled``: no node configured or none answering (fail-open)."""
        if self._nodes is None:
            return "disabled"
        return self._nodes.status()

    def _warn_fail_open(self, scope: str) -> None:
        now = self._clock()
        if self._last_warning is None or now - self._last_warning >= FAIL_OPEN_WARNING_PERIOD:
            self._last_warning = now
            logger.warning("rate limiting is off: no redis node answers (scope %s); requests pass", scope)
