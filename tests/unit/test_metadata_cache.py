"""Metadata cache-aside and node failover logic, against in-process fakeredis nodes (tests/fakes.py)."""

from __future__ import annotations

import json

import pytest

from chalicelib.cache import build_redis_nodes
from chalicelib.cache.metadata import (
    TOMBSTONE,
    NullCache,
    RedisMetadataCache,
    build_metadata_cache,
    cache_key,
)
from chalicelib.cache.nodes import DISABLED, RedisNodes, mask_url
from chalicelib.settings import Settings
from tests.fakes import Clock, FakeRedisNode

URLS = ["redis://:s3cret@cache-a:6379/0", "redis://cache-b:6379/0", "redis://cache-c:6379/0"]


class Cluster:
    def __init__(self, backoff: float = 5.0) -> None:
        self.clock = Clock()
        self.fakes: dict[str, FakeRedisNode] = {}
        self.nodes = RedisNodes(URLS, 150, client_factory=self._make, backoff_seconds=backoff, clock=self.clock)
        self.cache = RedisMetadataCache(self.nodes, ttl_seconds=3600, tombstone_seconds=30)

    def _make(self, url: str) -> FakeRedisNode:
        fake = FakeRedisNode(url)
        self.fakes[url] = fake
        return fake

    def fake_of(self, name: str) -> FakeRedisNode:
        node = next(n for n in self.nodes.nodes if n.name == name)
        client = node.client
        assert isinstance(client, FakeRedisNode)
        return client

    def owner_fake(self, image_id: str) -> FakeRedisNode:
        return self.fake_of(self.nodes.owner(cache_key(image_id)).name)

    def preference_fakes(self, image_id: str) -> list[FakeRedisNode]:
        return [self.fake_of(name) for name in self.nodes._ring.preference(cache_key(image_id))]


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


RECORD = {"id": "abc", "status": "ready", "size": 12345, "tags": ["x"]}


def test_get_misses_then_hits_after_set(cluster: Cluster) -> None:
    assert cluster.cache.get("abc") == (None, "MISS")
    cluster.cache.set("abc", RECORD)
    assert cluster.cache.get("abc") == (RECORD, "HIT")
    owner = cluster.nodes.owner(cache_key("abc"))
    assert (owner.hits, owner.misses, owner.errors) == (1, 1, 0)


def test_set_stores_json_with_the_ttl_under_a_versioned_key(cluster: Cluster) -> None:
    cluster.cache.set("abc", RECORD)
    fake = cluster.owner_fake("abc")
    assert json.loads(fake.backdoor.get("img:v1:abc")) == RECORD
    assert fake.backdoor.ttl("img:v1:abc") == 3600


def test_invalidate_leaves_a_tombstone_that_a_late_set_cannot_overwrite(cluster: Cluster) -> None:
    cluster.cache.set("abc", RECORD)
    cluster.cache.invalidate("abc")
    # A reader that fetched the old record before the change now tries to repopulate the cache.
    cluster.cache.set("abc", {**RECORD, "status": "stale"})
    assert cluster.cache.get("abc") == (None, "MISS")
    fake = cluster.owner_fake("abc")
    assert fake.backdoor.get("img:v1:abc") == TOMBSTONE
    assert fake.backdoor.ttl("img:v1:abc") == 30


def test_invalidate_also_clears_copies_on_other_nodes(cluster: Cluster) -> None:
    first, second, _ = cluster.preference_fakes("abc")
    second.backdoor.set("img:v1:abc", json.dumps({"status": "cached during a failover"}).encode())
    cluster.cache.invalidate("abc")
    assert not second.backdoor.exists("img:v1:abc")
    assert first.backdoor.get("img:v1:abc") == TOMBSTONE


def test_a_dead_owner_fails_over_to_the_next_node_and_counts_an_error(cluster: Cluster) -> None:
    first, second, _ = cluster.preference_fakes("abc")
    first.down = True
    assert cluster.cache.get("abc") == (None, "MISS")
    cluster.cache.set("abc", RECORD)
    assert cluster.cache.get("abc") == (RECORD, "HIT")
    assert second.backdoor.exists("img:v1:abc")
    health = {entry["node"]: entry for entry in cluster.nodes.health(probe=False)}
    assert health[mask_url(first.url)]["status"] == "down"
    assert health[mask_url(first.url)]["errors"] == 1
    assert cluster.nodes.status() == "degraded"


def test_a_down_node_is_not_retried_until_its_backoff_ends_then_rejoins(cluster: Cluster) -> None:
    first, _, _ = cluster.preference_fakes("abc")
    first.down = True
    cluster.cache.get("abc")
    calls = first.calls
    cluster.clock.now += 4.9
    cluster.cache.get("abc")
    assert first.calls == calls  # still in backoff: skipped without a network attempt
    first.down = False
    cluster.clock.now += 0.2
    cluster.cache.set("abc", RECORD)  # this request is the probe
    assert cluster.nodes.node_for(cache_key("abc")) is cluster.nodes.owner(cache_key("abc"))
    assert cluster.cache.get("abc") == (RECORD, "HIT")
    assert cluster.nodes.status() == "enabled"


def test_a_failed_probe_keeps_the_node_down_for_another_backoff(cluster: Cluster) -> None:
    first, _, _ = cluster.preference_fakes("abc")
    first.down = True
    cluster.cache.get("abc")
    cluster.clock.now += 6
    cluster.cache.get("abc")
    assert first.calls == 2
    cluster.clock.now += 1
    cluster.cache.get("abc")
    assert first.calls == 2


def test_every_node_down_means_disabled_and_nothing_raises(cluster: Cluster) -> None:
    for fake in cluster.fakes.values():
        fake.down = True
    assert cluster.cache.get("abc") == (None, "DISABLED")
    cluster.cache.set("abc", RECORD)
    cluster.cache.invalidate("abc")
    assert cluster.nodes.status() == "disabled"
    assert [entry["status"] for entry in cluster.cache.health()] == ["down"] * 3


def test_an_error_reply_is_disabled_without_marking_the_node_down(cluster: Cluster) -> None:
    first, second, _ = cluster.preference_fakes("abc")
    first.broken = True
    assert cluster.cache.get("abc") == (None, "DISABLED")
    assert second.calls == 0
    assert cluster.nodes.owner(cache_key("abc")).is_up
    assert cluster.nodes.owner(cache_key("abc")).errors == 1


def test_an_entry_that_is_not_a_json_object_is_a_miss_and_is_dropped(cluster: Cluster) -> None:
    fake = cluster.owner_fake("abc")
    fake.backdoor.set("img:v1:abc", b"not json")
    assert cluster.cache.get("abc") == (None, "MISS")
    assert not fake.backdoor.exists("img:v1:abc")
    cluster.cache.set("abc", RECORD)
    assert cluster.cache.get("abc") == (RECORD, "HIT")


def test_health_probes_nodes_and_masks_passwords(cluster: Cluster) -> None:
    cluster.fakes[URLS[1]].down = True
    health = cluster.cache.health()
    assert [entry["node"] for entry in health] == [
        "redis://:***@cache-a:6379/0",
        "redis://cache-b:6379/0",
        "redis://cache-c:6379/0",
    ]
    assert [entry["status"] for entry in health] == ["up", "down", "up"]
    assert "s3cret" not in repr(health)
    assert set(health[0]) == {"node", "status", "hits", "misses", "errors"}


def test_ring_names_leave_credentials_out_and_duplicates_are_refused() -> None:
    nodes = RedisNodes(["redis://:pw@h:6379", "redis://h:6380/2"], client_factory=FakeRedisNode)
    assert [node.name for node in nodes.nodes] == ["redis://h:6379/0", "redis://h:6380/2"]
    with pytest.raises(ValueError, match="listed twice"):
        RedisNodes(["redis://:a@h:6379/0", "redis://:b@h:6379/0"], client_factory=FakeRedisNode)


def test_execute_with_no_nodes_is_disabled() -> None:
    nodes = RedisNodes([], client_factory=FakeRedisNode)
    assert nodes.execute("k", lambda node: node.client.get("k")) is DISABLED
    assert nodes.node_for("k") is None
    assert nodes.status() == "disabled"


def test_close_closes_every_client(cluster: Cluster) -> None:
    cluster.nodes.close()
    assert all(fake.closed for fake in cluster.fakes.values())


def test_null_cache_is_always_disabled() -> None:
    cache = NullCache()
    assert cache.get("abc") == (None, "DISABLED")
    cache.set("abc", RECORD)
    cache.invalidate("abc")
    assert cache.health() == []


def test_build_metadata_cache_picks_redis_only_when_nodes_are_configured() -> None:
    settings = Settings(redis_nodes=("redis://cache-a:6379/0",), cache_ttl_seconds=60)
    assert isinstance(build_metadata_cache(settings, None), NullCache)
    nodes = build_redis_nodes(settings, client_factory=FakeRedisNode)
    assert nodes is not None
    assert isinstance(build_metadata_cache(settings, nodes), RedisMetadataCache)
    assert build_redis_nodes(Settings()) is None
