"""The metadata cache seen through the API: hits, no stale reads after changes, and losing Redis nodes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from scripts.stack import Stack
from tests.conftest import make_jpeg, make_png
from tests.http_api import Api

pytestmark = pytest.mark.integration


def upload_small(api: Api, index: int) -> str:
    response = api.post(
        "/api/v1/images/upload", files={"file": (f"n{index}.png", make_png(16 + index, 16), "image/png")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_status_change_is_never_served_stale(api: Api) -> None:
    ticket = api.request_upload("later.jpg", "image/jpeg", len(make_jpeg(300, 200)))
    first = api.get(f"/api/v1/images/{ticket['id']}")
    second = api.get(f"/api/v1/images/{ticket['id']}")
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert second.json()["status"] == "pending"
    form = ticket["upload"]
    requests.post(
        form["url"], data=form["fields"], files={"file": ("a.jpg", make_jpeg(300, 200), "image/jpeg")}, timeout=30
    )
    meta = api.wait_until_processed(ticket["id"])  # reads through the cache: pending must not stick
    assert meta["status"] == "ready"


def test_a_deleted_image_is_never_served_from_the_cache(api: Api) -> None:
    response = api.post("/api/v1/images/upload", files={"file": ("d.png", make_png(20, 20), "image/png")})
    image = response.json()
    api.get(f"/api/v1/images/{image['id']}")
    assert api.get(f"/api/v1/images/{image['id']}").headers["X-Cache"] == "HIT"
    assert (
        api.delete(f"/api/v1/images/{image['id']}", headers={"X-Delete-Token": image["delete_token"]}).status_code
        == 204
    )
    assert api.get(f"/api/v1/images/{image['id']}").status_code == 404


@pytest.fixture
def nodes_restored(stack: Stack) -> Iterator[Stack]:
    """Whatever a test does to the Redis nodes, the shared stack gets them back."""
    yield stack
    for node in stack.redis:
        if not node.running:
            node.start()
    deadline = time.monotonic() + 20
    api = Api(stack.api_url, operator_token=stack.config.operator_token)
    while api.health_details().json()["checks"]["cache"]["status"] != "up":
        assert time.monotonic() < deadline, "the cache nodes did not rejoin"
        time.sleep(0.5)


def test_killing_a_node_mid_run_keeps_reads_answering_and_it_rejoins(api: Api, nodes_restored: Stack) -> None:
    ids = [upload_small(api, i) for i in range(12)]
    for image_id in ids:
        api.get(f"/api/v1/images/{image_id}")
    victim = nodes_restored.redis[0]
    victim.kill()
    statuses = []
    for _ in range(2):
        for image_id in ids:
            response = api.get(f"/api/v1/images/{image_id}")
            statuses.append(response.status_code)
            assert response.json()["id"] == image_id
    assert set(statuses) == {200}
    health = api.health_details().json()["checks"]["cache"]
    assert health["status"] == "degraded"
    assert [node["status"] for node in health["nodes"]].count("down") == 1
    # The survivors took the dead node's keys: by the second pass every read is a HIT again.
    assert {api.get(f"/api/v1/images/{image_id}").headers["X-Cache"] for image_id in ids} == {"HIT"}
    victim.restart()
    deadline = time.monotonic() + 20
    while api.health_details().json()["checks"]["cache"]["status"] != "up":
        assert time.monotonic() < deadline, "the restarted node did not rejoin"
        time.sleep(0.5)


def test_with_every_node_down_the_api_answers_from_dynamodb(api: Api, nodes_restored: Stack) -> None:
    image_id = upload_small(api, 99)
    expected = api.get(f"/api/v1/images/{image_id}").json()
    for node in nodes_restored.redis:
        node.kill()
    for _ in range(3):
        response = api.get(f"/api/v1/images/{image_id}")
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "DISABLED"
        assert response.json() == expected
    health = api.health_details()
    assert health.status_code == 200
    assert health.json()["checks"]["cache"]["status"] == "down"
    assert health.json()["checks"]["rate_limiter"]["status"] == "disabled"
