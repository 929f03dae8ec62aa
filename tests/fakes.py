"""The test fakes, in one place: Redis nodes (fakeredis with a switch to fail), a clock, a JWKS endpoint.

Real ``redis-server`` processes stay in the integration tier; here ``fakeredis`` speaks the protocol in-process,
so the cache and the rate limiter run their real commands (``SET NX EX``, ``MULTI``/``INCR``/``PEXPIRE NX``...).
"""

from __future__ import annotations

import json
import time
from typing import Any

import fakeredis
import pytest
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from chalicelib.errors import IdentityProviderUnavailable


class Clock:
    """A clock the test moves by hand (``clock.now += 60``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def drive_redis(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Let fakeredis expire keys on this clock (it reads ``time.time()`` for every command)."""
        monkeypatch.setattr(time, "time", self)


class FakeRedisNode(fakeredis.FakeRedis):
    """One cache node: a ``fakeredis.FakeRedis`` on its own server, with switches to fail like a real node.

    ``down`` raises a connection error (the node is unreachable), ``broken`` a command error (it answers with an
    error reply). ``calls`` counts the commands sent (a pipeline counts once). ``backdoor`` reads and writes the
    same data without counting or failing, for a test's own look behind the code.
    """

    def __init__(self, url: str = "redis://fake:6379/0") -> None:
        server = fakeredis.FakeServer()
        super().__init__(server=server)
        self.url = url
        self.backdoor = fakeredis.FakeRedis(server=server)
        self.down = False
        self.broken = False
        self.calls = 0
        self.closed = False

    def _fail_if_switched(self) -> None:
        self.calls += 1
        if self.down:
            raise RedisConnectionError(f"Error 111 connecting to {self.url}. Connection refused.")
        if self.broken:
            raise ResponseError("OOM command not allowed")

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self._fail_if_switched()
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def checked_execute(raise_on_error: bool = True) -> list[Any]:
            self._fail_if_switched()
            return execute(raise_on_error)

        pipe.execute = checked_execute  # type: ignore[method-assign]
        return pipe

    def close(self) -> None:
        self.closed = True
        super().close()


class FakeJwks:
    """An identity provider's JWKS endpoint: a mutable document, a count of fetches, and a switch to go down."""

    def __init__(self, *entries: dict[str, Any]) -> None:
        self.document: dict[str, Any] = {"keys": list(entries)}
        self.fetches = 0
        self.down = False

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        if self.down:
            raise IdentityProviderUnavailable()
        copy: dict[str, Any] = json.loads(json.dumps(self.document))
        return copy
