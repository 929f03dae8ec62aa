"""Acceptance (issue 14) on the running stack, over HTTP through the local edge: identical uploads share one set
of stored objects while each keeps its own record and URLs; deletes free the objects only with the last record;
a private record of public bytes is unreachable by every URL; a repeat answers exactly as a fresh upload; and
uploads racing deletes of the same bytes never lose or leave an object."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests

from chalicelib import catalog
from scripts.stack import Stack
from tests.conftest import unique_jpeg
from tests.functional.test_dedup import _shape
from tests.http_api import unclaimed_generations
from tests.integration.test_delivery_http import assert_not_served, assert_served, image_urls, sign_up

pytestmark = pytest.mark.integration
# Served copy, 3 thumbnails and each one's companions (catalog.THUMBNAIL_COMPANIONS).
RENDITIONS = 1 + catalog.thumbnail_files()

RACE_ROUNDS = 5
RACE_SECONDS = 90


def upload(base: str, data: bytes, token: str | None = None, **fields: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(
        f"{base}/api/v1/images/upload",
        files={"file": ("same.jpg", data, "image/jpeg")},
        data=fields,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def generation_of(aws_clients: dict[str, Any], image_id: str) -> str:
    item = aws_clients["dynamodb"].get_item(TableName="chitram-images", Key={"id": {"S": image_id}})["Item"]
    key = str(item["file_key"]["S"])
    assert key.startswith("content/")
    return key.rsplit("/", 1)[0] + "/"


def keys_under(aws_clients: dict[str, Any], prefix: str) -> list[str]:
    listed = aws_clients["s3"].list_objects_v2(Bucket="chitram-images", Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def delete(base: str, image: dict[str, Any], token: str) -> int:
    response = requests.delete(
        f"{base}/api/v1/images/{image['id']}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def test_two_users_one_set_of_objects_and_the_last_delete_frees_it(stack: Stack, aws_clients: dict[str, Any]) -> None:
    ada, bob = sign_up(stack.url), sign_up(stack.url)
    data = unique_jpeg(800, 600)
    first = upload(stack.url, data, ada)
    second = upload(stack.url, data, bob, visibility="unlisted")
    generation = generation_of(aws_clients, first["id"])
    assert generation_of(aws_clients, second["id"]) == generation
    assert len(keys_under(aws_clients, generation)) == RENDITIONS  # one set of renditions for both records
    assert first["short_id"] != second["short_id"]
    assert first["links"]["direct"] != second["links"]["direct"]
    for image in (first, second):
        for url in image_urls(image):
            assert_served(url)
    assert delete(stack.url, first, ada) == 204
    for url in image_urls(first):
        assert_not_served(url)
    for url in image_urls(second):
        assert_served(url)  # the other's image still serves at the edge
    assert len(keys_under(aws_clients, generation)) == RENDITIONS
    assert delete(stack.url, second, bob) == 204
    for url in image_urls(second):
        assert_not_served(url)
    assert keys_under(aws_clients, generation) == []
    assert unclaimed_generations(aws_clients) == []


def test_a_private_copy_of_public_bytes_is_unreachable_by_every_url(stack: Stack) -> None:
    ada, bob = sign_up(stack.url), sign_up(stack.url)
    data = unique_jpeg(640, 480)
    public = upload(stack.url, data, ada)
    private = upload(stack.url, data, bob, visibility="private")
    owner_view = requests.get(
        f"{stack.url}/api/v1/images/{private['id']}", headers={"Authorization": f"Bearer {bob}"}, timeout=10
    ).json()
    ref = private["short_id"]
    extension = public["links"]["direct"].rsplit(".", 1)[1]
    guessed = [f"{stack.url}/i/{ref}.{extension}", f"{stack.url}/i/{private['id']}.{extension}"]
    guessed += [f"{stack.url}/i/{ref}/{size}.jpg" for size in ("150", "300", "600")]
    for url in guessed:
        assert_not_served(url)
    for headers in ({}, {"Authorization": f"Bearer {ada}"}):
        for path in (
            f"/api/v1/images/{private['id']}",
            f"/api/v1/images/{ref}",
            f"/api/v1/images/{private['id']}/file",
            f"/api/v1/images/{private['id']}/thumbnail?size=600",
            f"/{ref}",
            f"/{private['id']}",
        ):
            response = requests.get(stack.url + path, headers=headers, timeout=10, allow_redirects=False)
            assert response.status_code == 404, path
            assert "same.jpg" not in response.text, path
        oembed = requests.get(
            f"{stack.url}/api/v1/oembed", params={"url": f"{stack.url}/{ref}"}, headers=headers, timeout=10
        )
        assert oembed.status_code == 404
    for url in image_urls(public):
        assert_served(url)
    # The owner's own presigned links work, and tell caches the copy is private.
    assert "response-cache-control=private" in owner_view["owner_links"]["file"]
    assert ref not in json.dumps(public)


def test_a_repeat_of_someone_elses_bytes_answers_as_a_fresh_upload(stack: Stack) -> None:
    ada, bob = sign_up(stack.url), sign_up(stack.url)
    data = unique_jpeg(500, 400)
    fresh = upload(stack.url, data, ada)
    repeat = upload(stack.url, data, bob)
    assert _shape(fresh) == _shape(repeat)
    for url in (repeat["links"]["page"], *image_urls(repeat)):
        assert repeat["short_id"] in url
        assert fresh["short_id"] not in url
    meta = {
        name: requests.get(
            f"{stack.url}/api/v1/images/{image['id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        for name, image, token in (("fresh", fresh, ada), ("repeat", repeat, bob))
    }
    assert _shape(meta["fresh"]) == _shape(meta["repeat"])
    assert "duplicate_of" not in meta["repeat"]
    served = {name: requests.get(image_urls(image)[0], timeout=10) for name, image in (("f", fresh), ("r", repeat))}
    assert "Last-Modified" not in served["r"].headers  # the shared object's date would date ada's upload


def test_uploads_racing_deletes_of_the_same_bytes_over_http(stack: Stack, aws_clients: dict[str, Any]) -> None:
    token = sign_up(stack.url)
    data = unique_jpeg(320, 240)
    alive: list[dict[str, Any]] = [upload(stack.url, data, token)]
    lock = threading.Lock()
    errors: list[str] = []

    def add() -> None:
        try:
            image = upload(stack.url, data, token)
        except AssertionError as exc:
            errors.append(str(exc))
            return
        with lock:
            alive.append(image)

    def remove(image: dict[str, Any]) -> None:
        status = delete(stack.url, image, token)
        if status not in (204, 404):
            errors.append(f"delete answered {status}")

    started = time.monotonic()
    for _ in range(RACE_ROUNDS):
        if time.monotonic() - started > RACE_SECONDS:
            break
        with lock:
            victims, alive[:] = list(alive), []
        threads = [threading.Thread(target=remove, args=(image,)) for image in victims]
        threads += [threading.Thread(target=add) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        # Never lose: every live record's URLs serve. Never leave: only live records' generations hold objects.
        generations = {generation_of(aws_clients, image["id"]) for image in alive}
        for image in alive:
            for url in image_urls(image):
                assert_served(url)
        assert len(generations) == 1
        assert len(keys_under(aws_clients, next(iter(generations)))) == RENDITIONS
        assert unclaimed_generations(aws_clients) == []
    with lock:
        last = list(alive)
    generation = generation_of(aws_clients, last[0]["id"])
    for image in last:
        assert delete(stack.url, image, token) == 204
    assert keys_under(aws_clients, generation) == []
    assert unclaimed_generations(aws_clients) == []
