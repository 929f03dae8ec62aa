"""Composition root: builds each service once per process from settings and lazy clients.

This is the test seam: tests call ``reset()`` after changing the environment, or build services directly with
their own collaborators. Lambda keeps the module (and so these objects and their pools) warm across
invocations.
"""

from __future__ import annotations

import time
from functools import lru_cache

from chalicelib import clients
from chalicelib.cache.metadata import MetadataCache, build_metadata_cache
from chalicelib.cache.nodes import RedisNodes
from chalicelib.models import bind_tables
from chalicelib.ratelimit import RateLimiter
from chalicelib.records import ImageRecords
from chalicelib.services.images import ImageService
from chalicelib.services.processor import Processor
from chalicelib.settings import get_settings
from chalicelib.storage import Storage


@lru_cache(maxsize=1)
def redis_nodes() -> RedisNodes | None:
    settings = get_settings()
    if not settings.redis_nodes:
        return None
    return RedisNodes(settings.redis_nodes, vnodes=settings.cache_virtual_nodes)


@lru_cache(maxsize=1)
def metadata_cache() -> MetadataCache:
    return build_metadata_cache(get_settings(), redis_nodes())


@lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    return RateLimiter(redis_nodes())


@lru_cache(maxsize=1)
def storage() -> Storage:
    return Storage(get_settings().bucket_name)


@lru_cache(maxsize=1)
def image_records() -> ImageRecords:
    settings = get_settings()
    bind_tables(settings)
    return ImageRecords(gallery_shards=settings.gallery_shards)


@lru_cache(maxsize=1)
def image_service() -> ImageService:
    return ImageService(get_settings(), image_records(), storage(), metadata_cache(), time.time)


@lru_cache(maxsize=1)
def processor() -> Processor:
    return Processor(get_settings(), image_records(), storage(), metadata_cache(), time.time)


def reset() -> None:
    """Forget every cached object (after the environment changed)."""
    nodes = redis_nodes.cache_info().currsize and redis_nodes()
    if nodes:
        nodes.close()
    for factory in (redis_nodes, metadata_cache, rate_limiter, storage, image_records, image_service, processor):
        factory.cache_clear()
    get_settings.cache_clear()
    clients.reset_clients()
