"""Redis-backed caching: the hash ring, the node set with failover, and the metadata cache.

``ring``      which node owns a key (consistent hashing with virtual nodes)
``nodes``     one client per node, failover along the ring, per-node counters, health
``metadata``  cache-aside for image metadata (``MetadataCache``, ``RedisMetadataCache``, ``NullCache``)

``build_redis_nodes(settings)`` is the one place that turns settings into a ``RedisNodes`` (or ``None``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.cache.metadata import (
    CacheStatus,
    MetadataCache,
    NullCache,
    RedisMetadataCache,
    build_metadata_cache,
)
from chalicelib.cache.nodes import DEFAULT_BACKOFF_SECONDS, DISABLED, ClientFactory, RedisNodes
from chalicelib.cache.ring import EmptyRingError, HashRing

if TYPE_CHECKING:
    from chalicelib.settings import Settings

__all__ = [
    "DISABLED",
    "CacheStatus",
    "EmptyRingError",
    "HashRing",
    "MetadataCache",
    "NullCache",
    "RedisMetadataCache",
    "RedisNodes",
    "build_metadata_cache",
    "build_redis_nodes",
]


def build_redis_nodes(
    settings: Settings,
    *,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    client_factory: ClientFactory | None = None,
) -> RedisNodes | None:
    """``RedisNodes`` for ``settings.redis_nodes`` (``None`` when none is configured).

    Creating it opens no connection (clients connect on first use), so it is cheap at cold start.
    """
    if not settings.redis_nodes:
        return None
    return RedisNodes(
        settings.redis_nodes,
        settings.cache_virtual_nodes,
        backoff_seconds=backoff_seconds,
        client_factory=client_factory,
    )
