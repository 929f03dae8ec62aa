"""A short, bounded load run against the running stack: concurrent uploads and reads, no 5xx, nothing lost.

Bounded in count and time, loopback only. It asserts correctness under concurrency, never speed: the
throughput it prints is information (shared machines are noisy); docs/benchmarks.md has the measured numbers.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts.stack import Stack
from tests.conftest import make_jpeg, make_png
from tests.http_api import Api

pytestmark = pytest.mark.load

UPLOADS = 24
READS_PER_IMAGE = 10
WORKERS = 8
TIME_BUDGET_SECONDS = 90


def test_concurrent_uploads_and_reads_lose_nothing(stack: Stack) -> None:
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    statuses: Counter[int] = Counter()

    def upload(i: int) -> str:
        api = Api(stack.api_url)
        if i % 2:
            ticket = api.direct_upload(make_jpeg(640 + i, 480), f"load-{i}.jpg")
            statuses[201] += 1
            return str(ticket["id"])
        response = api.post(
            "/api/v1/images/upload", files={"file": (f"load-{i}.png", make_png(32 + i, 32), "image/png")}
        )
        statuses[response.status_code] += 1
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def read(image_id: str) -> None:
        api = Api(stack.api_url)
        for _ in range(READS_PER_IMAGE):
            if time.monotonic() > deadline:
                return
            response = api.get(f"/api/v1/images/{image_id}")
            statuses[response.status_code] += 1
            assert response.status_code == 200, response.text

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        ids = list(pool.map(upload, range(UPLOADS)))
        list(pool.map(read, ids))
    elapsed = time.monotonic() - started

    api = Api(stack.api_url)
    final = [api.wait_until_processed(image_id, timeout=60) for image_id in ids]
    assert [meta["status"] for meta in final] == ["ready"] * UPLOADS
    assert len(set(ids)) == UPLOADS
    assert not any(status >= 500 for status in statuses)
    requests_made = sum(statuses.values())
    print(f"\nload: {requests_made} requests in {elapsed:.1f}s ({requests_made / elapsed:.0f} req/s), {dict(statuses)}")
