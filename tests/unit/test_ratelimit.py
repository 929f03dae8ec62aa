"""Rate limiter counting and fail-open logic, against small in-process fake Redis nodes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from chalicelib.cache.nodes import RedisNodes
from chalicelib.errors import RateLimited
from chalicelib.ratelimit import RateLimiter, rate_limit_key

URLS = ["redis://cache-a:6379/0", "redis://cache-b:6379/0"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakePipeline:
    def __init__(self, server: FakeRedis) -> None:
        self.server = server
        self.ops: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def incr(self, name: str, amount: int = 1) -> FakePipeline:
        self.ops.append(("incr", (name, amount), {}))
        return self

    def pexpire(self, name: str, time: int, nx: bool = False) -> FakePipeline:
        self.ops.append(("pexpire", (name, time), {"nx": nx}))
        return self

    def pttl(self, name: str) -> FakePipeline:
        self.ops.append(("pttl", (name,), {}))
        return self

    def execute(self) -> list[Any]:
        if self.server.down:
            raise RedisConnectionError("Connection refused.")
        return [getattr(self.server, op)(*args, **kwargs) for op, args, kwargs in self.ops]


class FakeRedis:
    """Counters with millisecond expiry on the shared test clock."""

    clock: Clock

    def __init__(self, url: str) -> None:
        self.url = url
        self.counts: dict[str, int] = {}
        self.expires_at: dict[str, float] = {}
        self.down = False

    def _expire_old(self, name: str) -> None:
        if name in self.expires_at and self.clock.now >= self.expires_at[name]:
            del self.counts[name], self.expires_at[name]

    def incr(self, name: str, amount: int = 1) -> int:
        self._expire_old(name)
        self.counts[name] = self.counts.get(name, 0) + amount
        return self.counts[name]

    def pexpire(self, name: str, time: int, nx: bool = False) -> bool:
        if nx and name in self.expires_at:
            return False
        self.expires_at[name] = self.clock.now + time / 1000
        return True

    def pttl(self, name: str) -> int:
        self._expire_old(name)
        if name not in self.counts:
            return -2
        if name not in self.expires_at:
            return -1
        return round((self.expires_at[name] - self.clock.now) * 1000)

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    def get(self, name: str) -> Any:
        raise NotImplementedError

    def set(self, name: str, value: bytes, ex: int | None = None, px: int | None = None, nx: bool = False) -> Any:
        raise NotImplementedError

    def delete(self, *names: str) -> Any:
        raise NotImplementedError

    def ping(self) -> bool:
        if self.down:
            raise RedisConnectionError("Connection refused.")
        return True

    def close(self) -> None:
        return None


class Setup:
    def __init__(self) -> None:
        self.clock = Clock()
        self.fakes: list[FakeRedis] = []
        self.nodes = RedisNodes(URLS, 150, client_factory=self._make, backoff_seconds=5, clock=self.clock)
        self.limiter = RateLimiter(self.nodes, clock=self.clock)

    def _make(self, url: str) -> FakeRedis:
        fake = FakeRedis(url)
        fake.clock = self.clock
        self.fakes.append(fake)
        return fake


@pytest.fixture
def setup() -> Setup:
    return Setup()


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
    setup.clock.now += 60
    setup.limiter.hit("login", "a@example.com", limit=3, window_seconds=60)


def test_rejected_hits_do_not_extend_the_window(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip", limit=1, window_seconds=10)
    for _ in range(5):
        setup.clock.now += 1
        with pytest.raises(RateLimited):
            setup.limiter.hit("upload", "ip", limit=1, window_seconds=10)
    setup.clock.now += 5
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
    assert [fake.url for fake in setup.fakes if key in fake.counts] == [owner_url]


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_of_zero_or_less_is_unlimited(setup: Setup, limit: int) -> None:
    for _ in range(50):
        setup.limiter.hit("upload", "ip", limit=limit, window_seconds=60)
    assert all(not fake.counts for fake in setup.fakes)


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
    assert RateLimiter(RedisNodes([], client_factory=FakeRedis)).status() == "disabled"


def test_status_is_enabled_when_every_node_is_up(setup: Setup) -> None:
    setup.limiter.hit("upload", "ip", limit=5, window_seconds=60)
    assert setup.limiter.status() == "enabled"
