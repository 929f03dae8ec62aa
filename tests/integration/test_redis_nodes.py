"""The cache and the rate limiter against three real redis-server processes, including node crashes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chalicelib.cache.metadata import RedisMetadataCache, cache_key
from chalicelib.cache.nodes import RedisNodes
from chalicelib.errors import RateLimited
from chalicelib.ratelimit import RateLimiter
from scripts.redis_servers import RedisProcess, redis_servers

pytestmark = pytest.mark.integration

BACKOFF = 0.5
RECORD = {"id": "x", "status": "ready", "width": 640, "height": 480}


@pytest.fixture
def servers() -> Iterator[list[RedisProcess]]:
    with redis_servers(3) as started:
        yield started


@pytest.fixture
def nodes(servers: list[RedisProcess]) -> Iterator[RedisNodes]:
    with RedisNodes([server.url for server in servers], 150, backoff_seconds=BACKOFF) as redis_nodes:
        yield redis_nodes


@pytest.fixture
def cache(nodes: RedisNodes) -> RedisMetadataCache:
    return RedisMetadataCache(nodes, ttl_seconds=60)


def server_for(servers: list[RedisProcess], nodes: RedisNodes, image_id: str) -> RedisProcess:
    owner = nodes.owner(cache_key(image_id))
    return next(server for server in servers if server.url == owner.url)


def ids_owned_by(nodes: RedisNodes, url: str, count: int) -> list[str]:
    found = [f"img-{i}" for i in range(2_000) if nodes.owner(cache_key(f"img-{i}")).url == url]
    return found[:count]


def test_set_then_get_is_a_hit_on_the_owning_node(cache: RedisMetadataCache, nodes: RedisNodes) -> None:
    assert cache.get("x") == (None, "MISS")
    cache.set("x", RECORD)
    assert cache.get("x") == (RECORD, "HIT")
    owner = nodes.owner(cache_key("x"))
    assert (owner.hits, owner.misses) == (1, 1)
    assert owner.client.ttl(cache_key("x")) > 0  # type: ignore[attr-defined]


def test_invalidate_then_a_late_set_stays_a_miss(cache: RedisMetadataCache) -> None:
    cache.set("x", RECORD)
    cache.invalidate("x")
    cache.set("x", {**RECORD, "status": "stale"})
    assert cache.get("x") == (None, "MISS")


def test_a_killed_node_fails_over_then_rejoins_after_the_backoff(
    servers: list[RedisProcess], nodes: RedisNodes, cache: RedisMetadataCache
) -> None:
    victim = servers[0]
    victim_ids = ids_owned_by(nodes, victim.url, 20)
    other_ids = [f"img-{i}" for i in range(200) if f"img-{i}" not in victim_ids][:20]
    for image_id in victim_ids + other_ids:
        cache.set(image_id, {**RECORD, "id": image_id})
        assert cache.get(image_id)[1] == "HIT"

    victim.kill()

    # Reads keep answering: the victim's keys are now served by survivors (MISS, then HIT once set).
    for image_id in victim_ids:
        assert cache.get(image_id) == (None, "MISS")
        cache.set(image_id, {**RECORD, "id": image_id})
        assert cache.get(image_id) == ({**RECORD, "id": image_id}, "HIT")
        assert nodes.node_for(cache_key(image_id)).url != victim.url  # type: ignore[union-attr]
    for image_id in other_ids:
        assert cache.get(image_id)[1] == "HIT"
    health = {entry["node"]: entry for entry in nodes.health()}
    assert health[victim.url]["status"] == "down"
    assert health[victim.url]["errors"] >= 1
    assert nodes.status() == "degraded"

    victim.restart()
    time.sleep(BACKOFF + 0.1)

    # The next request to reach it is the probe; it rejoins and its keys map back (empty after restart).
    assert cache.get(victim_ids[0]) == (None, "MISS")
    assert nodes.status() == "enabled"
    assert nodes.node_for(cache_key(victim_ids[0])).url == victim.url  # type: ignore[union-attr]
    cache.set(victim_ids[0], RECORD)
    assert cache.get(victim_ids[0]) == (RECORD, "HIT")


def test_invalidate_reaches_the_node_that_held_the_key_during_a_failover(
    servers: list[RedisProcess], nodes: RedisNodes, cache: RedisMetadataCache
) -> None:
    owner = server_for(servers, nodes, "x")
    owner.kill()
    cache.set("x", RECORD)  # lands on the next node
    owner.restart()
    time.sleep(BACKOFF + 0.1)
    cache.invalidate("x")  # the owner is back: tombstone there, and the failover copy is deleted
    owner.kill()  # fail over again: the old copy must not resurface
    assert cache.get("x") == (None, "MISS")


def test_every_node_killed_means_disabled_and_nothing_raises(
    servers: list[RedisProcess], nodes: RedisNodes, cache: RedisMetadataCache
) -> None:
    cache.set("x", RECORD)
    for server in servers:
        server.kill()
    assert cache.get("x") == (None, "DISABLED")
    cache.set("x", RECORD)
    cache.invalidate("x")
    assert cache.get("y") == (None, "DISABLED")
    assert nodes.status() == "disabled"
    assert [entry["status"] for entry in cache.health()] == ["down", "down", "down"]


def test_the_eleventh_upload_in_a_minute_is_rate_limited(nodes: RedisNodes) -> None:
    limiter = RateLimiter(nodes)
    for _ in range(10):
        limiter.hit("upload", "198.51.100.4", limit=10, window_seconds=60)
    with pytest.raises(RateLimited) as caught:
        limiter.hit("upload", "198.51.100.4", limit=10, window_seconds=60)
    assert 0 < caught.value.retry_after <= 60
    limiter.hit("upload", "198.51.100.5", limit=10, window_seconds=60)
    assert limiter.status() == "enabled"


def test_the_rate_limit_window_frees_after_it_expires(nodes: RedisNodes) -> None:
    limiter = RateLimiter(nodes)
    limiter.hit("login", "a@example.com", limit=1, window_seconds=1)
    with pytest.raises(RateLimited) as caught:
        limiter.hit("login", "a@example.com", limit=1, window_seconds=1)
    assert caught.value.retry_after == 1
    time.sleep(1.05)
    limiter.hit("login", "a@example.com", limit=1, window_seconds=1)


def test_rate_limiter_fails_open_with_every_node_down(servers: list[RedisProcess], nodes: RedisNodes) -> None:
    limiter = RateLimiter(nodes)
    for server in servers:
        server.kill()
    for _ in range(30):
        limiter.hit("upload", "198.51.100.4", limit=10, window_seconds=60)
    assert limiter.status() == "disabled"
