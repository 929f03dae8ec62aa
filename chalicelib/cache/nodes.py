"""The set of Redis cache nodes: one client per node, failover along the hash ring, per-node counters.

``RedisNodes.execute(key, fn)`` runs ``fn(node)`` on the first live node in ``key``'s ring preference. A node
whose command fails with a connection error or a timeout is marked down for ``backoff_seconds`` and the same
call moves on to the next node. Once the backoff has passed, the next request that reaches the node is the
probe: if it succeeds the node is up again and its keys map back. The probe rides on a real request because
Lambda freezes the process between invocations, so a background health thread would never run.

When no node can answer, ``execute`` returns ``DISABLED`` instead of raising: the cache and the rate limiter
fail open and the API answers from DynamoDB.

Down-state is per process (per Lambda container): containers learn about a dead node independently, each
paying one failed attempt per backoff period.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from chalicelib.cache.ring import HashRing

__all__ = [
    "DISABLED",
    "Disabled",
    "Node",
    "RedisClient",
    "RedisNodes",
    "RedisPipeline",
    "default_client_factory",
    "mask_url",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BACKOFF_SECONDS = 5.0
DEFAULT_CONNECT_TIMEOUT = 0.25
DEFAULT_SOCKET_TIMEOUT = 0.25


class Disabled(enum.Enum):
    """The result of an operation no node could run (all down, or none configured)."""

    DISABLED = "DISABLED"


DISABLED: Literal[Disabled.DISABLED] = Disabled.DISABLED


class _FailedOver(enum.Enum):
    """Internal: the node failed with a connection error; try the next one."""

    FAILED_OVER = "FAILED_OVER"


_FAILED_OVER: Literal[_FailedOver.FAILED_OVER] = _FailedOver.FAILED_OVER


class RedisPipeline(Protocol):
    """The slice of ``redis.client.Pipeline`` the rate limiter uses."""

    def incr(self, name: str, amount: int = 1) -> Any: ...
    def pexpire(self, name: str, time: int, nx: bool = False) -> Any: ...
    def pttl(self, name: str) -> Any: ...
    def execute(self) -> list[Any]: ...
    def __enter__(self) -> RedisPipeline: ...
    def __exit__(self, *exc_info: object) -> None: ...


class RedisClient(Protocol):
    """The slice of ``redis.Redis`` this package uses; tests inject a small fake with the same shape."""

    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: bytes, ex: int | None = None, px: int | None = None, nx: bool = False) -> Any: ...
    def delete(self, *names: str) -> Any: ...
    def ping(self) -> Any: ...
    def pipeline(self, transaction: bool = True) -> Any: ...
    def close(self) -> None: ...


ClientFactory = Callable[[str], RedisClient]


def default_client_factory(
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, socket_timeout: float = DEFAULT_SOCKET_TIMEOUT
) -> ClientFactory:
    """A factory of ``redis.Redis`` clients, each with its own connection pool and short timeouts.

    One retry, with no backoff: a Lambda container thawed after minutes of idleness often holds a pooled
    socket the server (or a NAT) has since closed, and one immediate retry on a fresh connection tells that
    apart from a dead node without marking a healthy node down. More retries (redis-py's default is 3, with
    exponential backoff up to 10 s) would only delay failover.
    """

    def factory(url: str) -> RedisClient:
        client: RedisClient = redis.Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            decode_responses=False,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
        )
        return client

    return factory


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and /health)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{userinfo}@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _ring_name(url: str) -> str:
    """The node's name on the ring: scheme, host, port and db, never credentials.

    Credentials stay out so that rotating a password does not move every key, and so the name is safe to log.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"not a redis URL: {mask_url(url)!r}")
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    db = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or 6379}/{db}"


@dataclass(eq=False)
class Node:
    """One cache node: its client, its up/down state and its counters (all per process)."""

    name: str
    url: str  # masked
    client: RedisClient
    down_until: float = 0.0  # 0 = up; otherwise the monotonic time after which a request may probe it
    hits: int = 0
    misses: int = 0
    errors: int = 0
    failovers: int = field(default=0)  # times this node was marked down

    @property
    def is_up(self) -> bool:
        return self.down_until == 0.0


class RedisNodes:
    """Cache nodes on a consistent hash ring, with failover and per-node counters.

    ``urls`` are redis URLs (``redis://[:password@]host:port/db``). ``client_factory(url)`` builds a client
    (default: ``redis.Redis`` with short timeouts); ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        urls: Iterable[str],
        vnodes: int = 150,
        *,
        client_factory: ClientFactory | None = None,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if backoff_seconds < 0:
            raise ValueError(f"backoff_seconds must be >= 0, got {backoff_seconds}")
        factory = client_factory or default_client_factory()
        self._backoff = backoff_seconds
        self._clock = clock
        self._nodes: dict[str, Node] = {}
        for url in urls:
            name = _ring_name(url)
            if name in self._nodes:
                raise ValueError(f"redis node listed twice: {name}")
            self._nodes[name] = Node(name=name, url=mask_url(url), client=factory(url))
        self._ring = HashRing(list(self._nodes), vnodes=vnodes)

    # --- introspection ------------------------------------------------------------------------

    @property
    def nodes(self) -> Sequence[Node]:
        return tuple(self._nodes.values())

    @property
    def backoff_seconds(self) -> float:
        return self._backoff

    def __len__(self) -> int:
        return len(self._nodes)

    def owner(self, key: str) -> Node:
        """The node that owns ``key`` when every node is up (ignores down-state)."""
        return self._nodes[self._ring.get(key)]

    def node_for(self, key: str) -> Node | None:
        """The node a request for ``key`` would try first now: the first in ring order that is up or due
        for a probe. ``None`` when every node is in backoff (or none is configured)."""
        if not self._nodes:
            return None
        now = self._clock()
        for name in self._ring.preference(key):
            node = self._nodes[name]
            if node.down_until <= now:
                return node
        return None

    def status(self) -> Literal["enabled", "degraded", "disabled"]:
        """``enabled``: every node up; ``degraded``: some down; ``disabled``: none configured or none up.

        Reflects what requests have seen so far; ``health()`` probes.
        """
        if not self._nodes:
            return "disabled"
        up = sum(1 for node in self._nodes.values() if node.is_up)
        if up == len(self._nodes):
            return "enabled"
        return "degraded" if up else "disabled"

    def health(self, *, probe: bool = True) -> list[dict[str, Any]]:
        """One entry per node: masked url, ``up``/``down``, counters.

        With ``probe`` (the default), every node that is up or past its backoff is PINGed first, so /health
        notices a dead node before a request does; nodes still in backoff are not retried.
        """
        if probe:
            now = self._clock()
            for node in self._nodes.values():
                if node.down_until <= now:
                    self._run(node, lambda n: n.client.ping())
        return [
            {
                "node": node.url,
                "status": "up" if node.is_up else "down",
                "hits": node.hits,
                "misses": node.misses,
                "errors": node.errors,
            }
            for node in self._nodes.values()
        ]

    # --- running commands ---------------------------------------------------------------------

    def execute(self, key: str, fn: Callable[[Node], T]) -> T | Literal[Disabled.DISABLED]:
        """``fn(node)`` on the first node in ``key``'s preference that answers; ``DISABLED`` if none does.

        Nodes in backoff are skipped. A connection error or timeout marks the node down and moves on; any
        other ``RedisError`` (a bad reply, OOM) counts an error and returns ``DISABLED`` without failover,
        because the next node would not fix it.
        """
        if not self._nodes:
            return DISABLED
        now = self._clock()
        for name in self._ring.preference(key):
            node = self._nodes[name]
            if node.down_until > now:
                continue
            result = self._run(node, fn)
            if result is _FAILED_OVER:
                continue
            return result
        return DISABLED

    def broadcast(self, fn: Callable[[Node], object]) -> int:
        """``fn(node)`` on every node that is up or due for a probe; returns how many succeeded."""
        now = self._clock()
        done = 0
        for node in self._nodes.values():
            if node.down_until > now:
                continue
            result = self._run(node, fn)
            if result is not _FAILED_OVER and result is not DISABLED:
                done += 1
        return done

    def _run(self, node: Node, fn: Callable[[Node], T]) -> T | _FailedOver | Literal[Disabled.DISABLED]:
        try:
            result = fn(node)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            node.errors += 1
            self._mark_down(node, exc)
            return _FAILED_OVER
        except RedisError as exc:
            node.errors += 1
            logger.warning("redis node %s: %s: %s", node.url, type(exc).__name__, exc)
            return DISABLED
        if not node.is_up:
            node.down_until = 0.0
            logger.info("redis node %s is back up; its keys map back to it", node.url)
        return result

    def _mark_down(self, node: Node, exc: Exception) -> None:
        was_up = node.is_up
        node.down_until = self._clock() + self._backoff
        if was_up:
            node.failovers += 1
            logger.warning(
                "redis node %s marked down for %.1fs (%s: %s); its keys go to the next node on the ring",
                node.url,
                self._backoff,
                type(exc).__name__,
                exc,
            )

    def close(self) -> None:
        """Close every client and its connection pool."""
        for node in self._nodes.values():
            try:
                node.client.close()
            except RedisError:  # pragma: no cover - closing a pool does not talk to the server
                logger.debug("closing %s failed", node.url, exc_info=True)

    def __enter__(self) -> RedisNodes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
