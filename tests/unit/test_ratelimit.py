"""Rate limiter counting and fail-open logic, against in-process fakeredis nodes (tests/fakes.py)."""

from __future__ import annotations

import logging
import time

import pytest

from chalicelib.cache.nodes import RedisNodes
from chalicelib.errors import RateLimited
from chalicelib.ratelimit import RateLimiter, rate_limit_key
from tests.fakes import Clock, FakeRedisNode

URLS = ["redis://cache-a:6379/0", "redis://cache-b:6379/0"]


class Setup:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = Clock(time.time())
        self.clock.drive_redis(monkeypatch)  # windows expire on the test's clock
        self.fakes: list[FakeRedisNode] = []
        self.nodes = RedisNodes(URLS, 150, client_factory=self._make, backoff_seconds=5, clock=self.clock)
        self.limiter = RateLimiter(self.nodes, clock=self.clock)

    def _make(self, url: str) -> FakeRedisNode:
        fake = FakeRedisNode(url)
        self.fakes.append(fake)
        return fake


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Setup:
    return Setup(monkeypatch)


def test_the_hit_after_the_limit_raises_with_the_time_left_in_the_window(setup: Setup) -> None:
    for _ in range(10):
        setup.limiter.hit("upload", "203.0.113.7", limit=10, window_seconds=60)
    setup.clock.now += 20.5
    with pytest.raises(RateLimited) as caught:
        setup.limiter.hit("upload", "203.0.113.7", limit=10, window_seconds=60)
    assert caught.value.retry_after == 40
    assert caught.value.headers() == {"Retry-After": "40"}


def test_the_window_frees_after_it_expires(setup: Setup) -> None:
    for _ in range(3):
        setup.limiter.hit("login", "a@example.com", limit=3, window_seconds=60)
    with pytest.raises(RateLimited):
        setup.limiter.hit("login", "a@example.com", limit=3, window_seconds=60)
    setup.clock.now += 60.001  # Redis expires a key once its time has passed (now > expiry)
    setup.limiter.hit("login", "a@example.com", limit=3, window_seconds=60)


def test_rejected_hits_do_not_extend_the_window(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip", limit=1, window_seconds=10)
    for _ in range(5):
        setup.clock.now += 1
        with pytest.raises(RateLimited):
            setup.limiter.hit("upload", "ip", limit=1, window_seconds=10)
    setup.clock.now += 5.001  # just past the window that opened with the first hit
    setup.limiter.hit("upload", "ip", limit=1, window_seconds=10)


def test_identities_and_scopes_are_counted_apart(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip-1", limit=1, window_seconds=60)
    setup.limiter.hit("upload", "ip-2", limit=1, window_seconds=60)
    setup.limiter.hit("login", "ip-1", limit=1, window_seconds=60)
    with pytest.raises(RateLimited):
        setup.limiter.hit("upload", "ip-1", limit=1, window_seconds=60)


def test_the_counter_lives_on_the_node_the_ring_picks(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip-1", limit=5, window_seconds=60)
    key = rate_limit_key("upload", "ip-1")
    owner_url = setup.nodes.owner(key).url
    assert [fake.url for fake in setup.fakes if fake.backdoor.exists(key)] == [owner_url]


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_of_zero_or_less_is_unlimited(setup: Setup, limit: int) -> None:
    for _ in range(50):
        setup.limiter.hit("upload", "ip", limit=limit, window_seconds=60)
    assert all(not fake.backdoor.keys() for fake in setup.fakes)


def test_fails_open_and_says_so_when_no_node_answers(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    for fake in setup.fakes:
        fake.down = True
    with caplog.at_level(logging.WARNING, logger="chalicelib.ratelimit"):
        for _ in range(20):
            setup.limiter.hit("upload", "ip", limit=1, window_seconds=60)
    assert setup.limiter.status() == "disabled"
    warnings = [r for r in caplog.records if r.name == "chalicelib.ratelimit"]
    assert len(warnings) == 1  # once per period, not once per request


def test_a_dead_node_moves_its_counters_to_the_next_node(setup: Setup) -> None:
    key = rate_limit_key("upload", "ip")
    owner = setup.nodes.owner(key)
    next(fake for fake in setup.fakes if fake.url == owner.url).down = True
    setup.limiter.hit("upload", "ip", limit=1, window_seconds=60)
    with pytest.raises(RateLimited):
        setup.limiter.hit("upload", "ip", limit=1, window_seconds=60)
    assert setup.limiter.status() == "degraded"


def test_without_nodes_the_limiter_is_disabled_and_lets_everything_through() -> None:
    limiter = RateLimiter(None)
    for _ in range(20):
        limiter.hit("upload", "ip", limit=1, window_seconds=60)
    assert limiter.status() == "disabled"
    assert RateLimiter(RedisNodes([], client_factory=FakeRedisNode)).status() == "disabled"


def test_status_is_enabled_when_every_node_is_up(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip", limit=5, window_seconds=60)
    assert setup.limiter.status() == "enabled"
