"""Upload rate limits per source address, against real redis-server nodes, with crafted API Gateway events.

``chalice local`` reports every client as 127.0.0.1, so the address API Gateway would report is set on the
in-process gateway (``LambdaEventConverter.LOCAL_SOURCE_IP``) — the same field the app reads in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chalice.local import LambdaEventConverter
from chalice.test import Client

from scripts.redis_servers import RedisProcess, redis_servers
from tests.functional.conftest import OPERATOR, body

JSON = {"Content-Type": "application/json"}
UPLOAD = json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 100})


@pytest.fixture
def nodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RedisProcess]]:
    with redis_servers(3) as servers:
        monkeypatch.setenv("REDIS_NODES", ",".join(server.url for server in servers))
        monkeypatch.setenv("RATE_LIMIT_UPLOADS_PER_MINUTE", "10")
        yield servers


def from_address(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)


def test_eleventh_upload_from_one_address_within_a_minute_is_429(
    nodes: list[RedisProcess], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_address(monkeypatch, "203.0.113.7")
    for _ in range(10):
        assert client.http.post("/api/v1/images/upload-url", headers=JSON, body=UPLOAD).status_code == 201
    refused = client.http.post("/api/v1/images/upload-url", headers=JSON, body=UPLOAD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    detail = body(refused)["detail"]
    assert detail["code"] == "RATE_LIMIT_EXCEEDED"
    assert detail["details"]["retry_after"] == int(refused.headers["Retry-After"])
    # The multipart path shares the budget.
    multipart = client.http.post(
        "/api/v1/images/upload", headers={"Content-Type": "multipart/form-data; boundary=x"}, body=b"--x--"
    )
    assert multipart.status_code == 429


def test_limits_are_per_address_and_ignore_forwarded_for(
    nodes: list[RedisProcess], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_address(monkeypatch, "198.51.100.1")
    for _ in range(10):
        client.http.post("/api/v1/images/upload-url", headers=JSON, body=UPLOAD)
    spoofed = client.http.post(
        "/api/v1/images/upload-url", headers={**JSON, "X-Forwarded-For": "192.0.2.99"}, body=UPLOAD
    )
    assert spoofed.status_code == 429  # a client-sent header never changes who we count
    from_address(monkeypatch, "198.51.100.2")
    assert client.http.post("/api/v1/images/upload-url", headers=JSON, body=UPLOAD).status_code == 201


def test_uploads_pass_when_redis_is_unreachable_and_health_says_so(
    nodes: list[RedisProcess], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_address(monkeypatch, "203.0.113.50")
    for server in nodes:
        server.kill()
    for _ in range(12):
        assert client.http.post("/api/v1/images/upload-url", headers=JSON, body=UPLOAD).status_code == 201
    health = body(client.http.get("/health/details", headers=OPERATOR))
    assert health["status"] == "ok"
    assert health["checks"]["rate_limiter"]["status"] == "disabled"
    assert {node["status"] for node in health["checks"]["cache"]["nodes"]} == {"down"}
