"""Cache-aside for image metadata records, on the Redis node ring.

The image service reads ``get(id)``; on ``MISS`` it reads DynamoDB and calls ``set(id, record)``; on every
change (status, delete, visibility) it calls ``invalidate(id)``. ``DISABLED`` means no node could answer and
the service should simply read DynamoDB (the API reports it as ``X-Cache: DISABLED``). Nothing here raises.

Two races are handled here (the reasoning is in docs/adr/0002-consistent-hash-ring.md):

* **invalidate vs. a slow reader.** A reader misses, reads the old record from DynamoDB, and is about to
  ``set`` it when a writer updates the record and invalidates. If ``invalidate`` merely deleted the key, the
  reader's ``set`` would then cache the old record for a whole TTL. So ``invalidate`` writes a short-lived
  *tombstone* instead, and ``set`` is ``SET ... NX``: it never overwrites anything, tombstones included.
  A reader can only lose that race if more than the tombstone's life (5 s by default) passes between its
  DynamoDB read *completing* and its ``set``: that gap is a little local work and one Redis round trip
  (0.25 s timeouts), so 5 s is a wide margin, and the image is back in the cache 5 s after a change.
* **invalidate after a failover.** While a node is down its keys are cached on the next node; when it comes
  back, they map to it again. ``invalidate`` therefore deletes the key on *every* node this process does not
  have in backoff (not only the current owner), so a copy on a former or future owner does not outlive the
  change. A node this process has in backoff is skipped (waiting for it would put a connect timeout on
  every write); a stale copy can survive there only if that node was unreachable, not restarted (our nodes
  keep no data across a restart), and it is bounded by the TTL.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Literal, Protocol

from chalicelib.cache.nodes import DISABLED, Node

if TYPE_CHECKING:
    from chalicelib.cache.nodes import RedisNodes
    from chalicelib.settings import Settings

__all__ = [
    "KEY_PREFIX",
    "CacheStatus",
    "MetadataCache",
    "NullCache",
    "RedisMetadataCache",
    "build_metadata_cache",
    "cache_key",
]

logger = logging.getLogger(__name__)

CacheStatus = Literal["HIT", "MISS", "DISABLED"]

# Bump the version when the cached record's shape changes: old entries then simply stop being read.
KEY_PREFIX = "img:v1:"
# Not valid JSON, so no record can ever be mistaken for it.
TOMBSTONE = b"\x00tombstone"
DEFAULT_TOMBSTONE_SECONDS = 5


def cache_key(image_id: str) -> str:
    return f"{KEY_PREFIX}{image_id}"


class MetadataCache(Protocol):
    """What the image service needs from a metadata cache. Implementations never raise."""

    def get(self, image_id: str) -> tuple[dict[str, Any] | None, CacheStatus]: ...
    def set(self, image_id: str, record: dict[str, Any]) -> None: ...
    def invalidate(self, image_id: str) -> None: ...
    def health(self) -> list[dict[str, Any]]: ...


class NullCache:
    """No cache configured: every read is ``DISABLED``, writes do nothing."""

    def get(self, image_id: str) -> tuple[dict[str, Any] | None, CacheStatus]:
        return None, "DISABLED"

    def set(self, image_id: str, record: dict[str, Any]) -> None:
        return None

    def invalidate(self, image_id: str) -> None:
        return None

    def health(self) -> list[dict[str, Any]]:
        return []


class RedisMetadataCache:
    """Metadata cache-aside over ``RedisNodes``: JSON values under ``img:v1:{id}`` with a TTL."""

    def __init__(
        self, nodes: RedisNodes, ttl_seconds: int, *, tombstone_seconds: int = DEFAULT_TOMBSTONE_SECONDS
    ) -> None:
        if ttl_seconds < 1 or tombstone_seconds < 1:
            raise ValueError("ttl_seconds and tombstone_seconds must be >= 1")
        self._nodes = nodes
        self._ttl = ttl_seconds
        self._tombstone_ttl = tombstone_seconds

    @property
    def nodes(self) -> RedisNodes:
        return self._nodes

    def get(self, image_id: str) -> tuple[dict[str, Any] | None, CacheStatus]:
        key = cache_key(image_id)

        def read(node: Node) -> bytes | None:
            raw: bytes | None = node.client.get(key)
            if raw is None or raw == TOMBSTONE:
                node.misses += 1
                return None
            node.hits += 1
            return raw

        raw = self._nodes.execute(key, read)
        if raw is DISABLED:
            return None, "DISABLED"
        if raw is None:
            return None, "MISS"
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            # Not one of ours. Drop it, or ``set`` (NX) could never replace it.
            logger.warning("cache entry %s is not a JSON object; dropping it", key)
            self._nodes.execute(key, lambda node: node.client.delete(key))
            return None, "MISS"
        return record, "HIT"

    def set(self, image_id: str, record: dict[str, Any]) -> None:
        key = cache_key(image_id)
        try:
            value = json.dumps(record, separators=(",", ":"), default=str).encode()
        except (TypeError, ValueError):
            logger.warning("record for %s is not JSON-serialisable; not cached", key, exc_info=True)
            return
        # NX: never overwrite; in particular never overwrite a tombstone left by ``invalidate``.
        self._nodes.execute(key, lambda node: node.client.set(key, value, ex=self._ttl, nx=True))

    def invalidate(self, image_id: str) -> None:
        key = cache_key(image_id)
        tombstoned: list[Node] = []

        def tombstone(node: Node) -> None:
            node.client.set(key, TOMBSTONE, ex=self._tombstone_ttl)
            tombstoned.append(node)

        def delete(node: Node) -> None:
            if node not in tombstoned:
                node.client.delete(key)

        # The tombstone goes where readers of ``key`` go now (failing over like a read would); every other
        # node not in backoff (a former owner before a failover, the owner-to-be after one) loses its copy.
        self._nodes.execute(key, tombstone)
        self._nodes.broadcast(delete)

    def health(self) -> list[dict[str, Any]]:
        return self._nodes.health()


def build_metadata_cache(settings: Settings, nodes: RedisNodes | None) -> MetadataCache:
    """``RedisMetadataCache`` over ``nodes``, or ``NullCache`` when no node is configured."""
    if nodes is None or len(nodes) == 0:
        return NullCache()
    return RedisMetadataCache(nodes, settings.cache_ttl_seconds)
