"""Integration tier: HTTP against the running local stack (moto server, chalice local, worker, redis nodes).

One stack per test session, on free ports, so it never collides with a developer's ``make run``. If it cannot
start, the tier fails loudly; it is never skipped. ``CHITRAM_S3_SQS_ENDPOINT`` (set by ``make test-localstack``)
puts S3 and SQS on LocalStack instead of moto.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from scripts.stack import Stack, StackConfig

READY_TIMEOUT_SECONDS = 30.0


class Api:
    """A small HTTP client bound to the stack's API base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # --- lifecycle helpers ---------------------------------------------------------------------------

    def request_upload(self, filename: str, content_type: str, size: int, **extra: Any) -> dict[str, Any]:
        response = self.post(
            "/api/v1/images/upload-url",
            json={"filename": filename, "content_type": content_type, "size": size, **extra},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def direct_upload(
        self, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg", **extra: Any
    ) -> dict[str, Any]:
        """upload-url, then the browser's POST straight to the bucket; returns the ticket."""
        ticket = self.request_upload(filename, content_type, len(data), **extra)
        form = ticket["upload"]
        response = requests.post(
            form["url"], data=form["fields"], files={"file": (filename, data, content_type)}, timeout=30
        )
        assert response.status_code in (200, 201, 204), response.text
        return ticket

    def wait_until_processed(self, image_id: str, timeout: float = READY_TIMEOUT_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/api/v1/images/{image_id}")
            body = response.json()
            if response.status_code != 200 or body.get("status") != "pending":
                return dict(body)
            if time.monotonic() > deadline:
                raise AssertionError(f"image {image_id} still pending after {timeout}s")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    config = StackConfig.ephemeral(
        s3_sqs_endpoint=os.environ.get("CHITRAM_S3_SQS_ENDPOINT") or None,
        # Every test uploads from 127.0.0.1 (chalice local reports no other address), so the per-address
        # upload limit is lifted here; tests/functional/test_rate_limits.py covers it with crafted events.
        extra_env={"RATE_LIMIT_UPLOADS_PER_MINUTE": "0"},
    )
    running = Stack(config).start(timeout=90)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(stack: Stack) -> Api:
    dead = stack.check_alive()
    assert dead is None, f"{dead.name} died:\n{dead.tail()}" if dead else ""
    return Api(stack.api_url)


@pytest.fixture
def aws_clients(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """boto3 clients pointed at the stack's emulators (to look behind the API: objects, records, queues)."""
    for name, value in stack.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    return {name: boto3.client(name, region_name="us-east-1") for name in ("s3", "sqs", "dynamodb")}
