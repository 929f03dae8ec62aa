"""Content-addressed renditions with reference counts (ADR 0013), in-process: identical uploads share one set of
objects while every upload keeps its own record; the last delete frees the objects; racing uploads and deletes of
the same bytes never lose an object a record needs nor leave one nobody does; and nothing tells one user what
another uploaded."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from dataclasses import asdict
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import catalog, composition, delivery
from chalicelib.contents import Contents
from chalicelib.edge_resolver import EdgeRecord, edge_record, resolve
from chalicelib.errors import ImageNotFound
from chalicelib.records import READY
from chalicelib.services.images import Viewer
from chalicelib.settings import get_settings
from chalicelib.storage import cref_of, original_key
from scripts.moto_server import atomic_requests
from tests.conftest import make_jpeg
from tests.functional.conftest import body, drain_queue
from tests.functional.test_ownership import JSON, multipart, sign_up, usage

# Served copy, 3 thumbnails and each one's companions (catalog.THUMBNAIL_COMPANIONS).
RENDITIONS = 1 + catalog.thumbnail_files()
RACE_ROUNDS = 40
RACE_SECONDS = 60  # bound on the whole race test, whatever the machine's load
RACE_THREADS = 6


def bucket_keys() -> list[str]:
    s3 = boto3.client("s3")
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=get_settings().bucket_name):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def lookup(ref: str) -> EdgeRecord | None:
    records = composition.image_records()
    try:
        return edge_record(asdict(records.get(records.id_for_short_id(ref))))
    except ImageNotFound:
        return None


def direct_path(image: dict[str, Any]) -> str:
    record = composition.image_records().get(image["id"])
    return delivery.direct_path(record.ref, delivery.extension_of(record.file_key or ""))


def api_upload(client: Client, data: bytes, auth: dict[str, str] | None = None, **fields: str) -> dict[str, Any]:
    headers, payload = multipart(data, **fields)
    response = client.http.post("/api/v1/images/upload", headers={**headers, **(auth or {})}, body=payload)
    assert response.status_code == 201, response.body
    return dict(body(response))


def test_two_users_upload_the_same_file_one_set_of_objects_two_records(client: Client) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    data = make_jpeg(640, 480)
    first = api_upload(client, data, ada)
    second = api_upload(client, data, bob, visibility="unlisted")
    assert len(bucket_keys()) == RENDITIONS  # served copy + 3 thumbnails + their companions, once
    # Two independent records: own ids, short ids, owners, visibility.
    assert first["id"] != second["id"]
    assert first["short_id"] != second["short_id"]
    records = composition.image_records()
    a, b = records.get(first["id"]), records.get(second["id"])
    assert a.owner != b.owner
    assert a.visibility != b.visibility
    assert a.file_key == b.file_key
    assert a.content_id == b.content_id
    content = Contents().get(a.content_id or "")
    assert content is not None
    assert content.refs == 2
    paths = {image["id"]: direct_path(image) for image in (first, second)}
    # Either deletes: the other's image still serves (at the edge) and its objects stay.
    assert client.http.delete(f"/api/v1/images/{first['id']}", headers=ada).status_code == 204
    assert resolve(paths[first["id"]], lookup) is None
    assert resolve(paths[second["id"]], lookup) == b.file_key
    assert len(bucket_keys()) == RENDITIONS
    assert body(client.http.get(f"/api/v1/images/{second['id']}"))["status"] == READY
    # Both delete: the objects are gone, and the item.
    assert client.http.delete(f"/api/v1/images/{second['id']}", headers=bob).status_code == 204
    assert bucket_keys() == []
    assert Contents().get(a.content_id or "") is None


def test_anonymous_delete_tokens_stay_per_record(client: Client) -> None:
    data = make_jpeg(320, 240)
    first, second = api_upload(client, data), api_upload(client, data)
    assert first["delete_token"] != second["delete_token"]
    wrong = client.http.delete(f"/api/v1/images/{second['id']}", headers={"X-Delete-Token": first["delete_token"]})
    assert wrong.status_code == 403
    ok = client.http.delete(f"/api/v1/images/{first['id']}", headers={"X-Delete-Token": first["delete_token"]})
    assert ok.status_code == 204
    assert len(bucket_keys()) == RENDITIONS


def _shape(value: Any) -> Any:
    """The response with what differs per upload anyway (ids, tokens, times, own URLs) blanked out."""
    per_upload = {"id", "short_id", "delete_token", "created_at", "processed_at", "expires_at", "owner"}
    per_upload |= {"key", "policy", "x-amz-signature", "x-amz-date", "x-amz-credential", "upload_id"}
    if isinstance(value, dict):
        return {k: "*" if k in per_upload else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, str) and ("://" in value or value.startswith("/api/")):
        return "<url>"
    return value


def test_a_repeat_of_someone_elses_bytes_answers_exactly_as_a_fresh_upload(client: Client) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    fresh = api_upload(client, make_jpeg(500, 400), ada)  # bytes nobody had
    repeat = api_upload(client, make_jpeg(500, 400), bob)  # bytes ada has
    assert set(fresh) == set(repeat)
    assert _shape(fresh) == _shape(repeat)
    assert len(repeat["short_id"]) == len(fresh["short_id"]) == delivery.SHORT_ID_CHARS
    assert "duplicate_of" not in repeat
    # Its own URLs only: every link names its own short id, none names ada's.
    for url in [repeat["links"]["page"], repeat["links"]["direct"], *repeat["links"]["thumbnails"].values()]:
        assert repeat["short_id"] in url
    metadata = body(client.http.get(f"/api/v1/images/{repeat['id']}", headers=bob))
    fresh_metadata = body(client.http.get(f"/api/v1/images/{fresh['id']}", headers=ada))
    assert _shape(metadata) == _shape(fresh_metadata)
    assert "duplicate_of" not in metadata


def test_presigned_uploads_answer_alike_and_reach_ready_alike(client: Client) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")

    def presigned(auth: dict[str, str], data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
        payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
        ticket = body(client.http.post("/api/v1/images/upload-url", headers={**JSON, **auth}, body=json.dumps(payload)))
        boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=original_key(ticket["id"]), Body=data)
        assert drain_queue() == []
        return ticket, body(client.http.get(f"/api/v1/images/{ticket['id']}", headers=auth))

    data = make_jpeg(300, 200)
    ticket_a, ready_a = presigned(ada, data)
    ticket_b, ready_b = presigned(bob, data)
    assert _shape(ticket_a) == _shape(ticket_b)
    assert ready_a["status"] == ready_b["status"] == READY
    assert _shape(ready_a) == _shape(ready_b)
    assert len([k for k in bucket_keys() if k.startswith("content/")]) == RENDITIONS


def test_a_private_record_of_public_bytes_is_unreachable_to_others(client: Client) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    data = make_jpeg(640, 480)
    public = api_upload(client, data, ada)
    private = api_upload(client, data, bob, visibility="private")
    record = composition.image_records().get(private["id"])
    ref = record.ref
    # Edge: every /i/ path of the private record is a 404, while the public one's serve the same objects.
    for name, key in {"": record.file_key, **record.thumbnails}.items():
        extension = delivery.extension_of(key or "")
        path = delivery.rendition_path(ref, name, extension) if name else delivery.direct_path(ref, extension)
        assert resolve(path, lookup) is None, path
    assert resolve(direct_path(public), lookup) == record.file_key
    # API metadata, file and thumbnail redirects, share page and oEmbed: not found for anyone but bob.
    for auth in ({}, ada):
        for path in (
            f"/api/v1/images/{private['id']}",
            f"/api/v1/images/{ref}",
            f"/api/v1/images/{private['id']}/file",
            f"/api/v1/images/{private['id']}/thumbnail?size=150",
        ):
            response = client.http.get(path, headers=auth)
            assert response.status_code == 404, path
            assert body(response)["detail"]["code"] == "IMAGE_NOT_FOUND"
    page = client.http.get(f"/{ref}")
    assert page.status_code == 404
    oembed = client.http.get(f"/api/v1/oembed?url={get_settings().site_origin}/{ref}")
    assert oembed.status_code == 404
    # The public one serves, and its metadata names nothing of bob's.
    meta = body(client.http.get(f"/api/v1/images/{public['id']}"))
    assert ref not in json.dumps(meta)
    assert private["id"] not in json.dumps(meta)
    assert body(client.http.get(f"/api/v1/images/{private['id']}", headers=bob))["visibility"] == "private"


def test_quota_counts_every_record_in_full(client: Client) -> None:
    ada, bob = sign_up(client, "ada"), sign_up(client, "bob")
    data = make_jpeg(640, 480)
    first = api_upload(client, data, ada)
    api_upload(client, data, bob)
    served = composition.image_records().get(first["id"]).size
    assert usage(client, ada) == usage(client, bob) == {"image_count": 1, "bytes_used": served}
    api_upload(client, data, bob)  # bob's own repeat counts again, in full
    assert usage(client, bob) == {"image_count": 2, "bytes_used": 2 * served}


# --- the race -----------------------------------------------------------------------------------------------


def check_invariants() -> None:
    """No record lost an object it needs; no object is left that nothing needs; every count is right."""
    records = composition.image_records()
    from chalicelib.models import ImageRecord

    live = [records.get(r.id) for r in ImageRecord.scan(~ImageRecord.id.startswith("content#"))]
    ready = [image for image in live if image.status == READY]
    keys = set(bucket_keys())
    for image in ready:
        needed = [image.file_key or "", *image.thumbnails.values(), *image.variant_keys()]
        assert set(needed) <= keys, f"{image.id} lost objects"
    contents = {c.content_id: c for c in Contents().scan()}
    held: dict[str, int] = {}
    for image in ready:
        assert image.content_id in contents, f"{image.id} names no content item"
        assert cref_of(image.file_key) == contents[image.content_id or ""].cref
        held[image.content_id or ""] = held.get(image.content_id or "", 0) + 1
    assert {cid: c.refs for cid, c in contents.items()} == held
    generations = {cref_of(key) for key in keys if key.startswith("content/")}
    assert generations == {c.cref for c in contents.values()}, "objects left that no record needs"
    assert not [k for k in keys if k.startswith("originals/")]


@pytest.fixture
def atomic_dynamodb() -> Any:
    """DynamoDB applies each request atomically; in-process moto does not lock (scripts/moto_server.py)."""
    undo = atomic_requests()
    yield
    undo()


@pytest.mark.parametrize(
    "rounds", [pytest.param(6, id="quick"), pytest.param(RACE_ROUNDS, id="many", marks=pytest.mark.slow)]
)
def test_racing_uploads_and_deletes_of_the_same_bytes_never_lose_or_leave_an_object(
    aws: None, atomic_dynamodb: None, rounds: int
) -> None:
    service = composition.image_service()
    processor = composition.processor()
    s3 = boto3.client("s3")
    bucket = get_settings().bucket_name
    variants = [make_jpeg(200, 150), make_jpeg(200, 150, color=(1, 2, 3))]
    alive: list[tuple[str, str]] = []  # (id, delete token)
    lock = threading.Lock()
    errors: list[BaseException] = []
    rng = random.Random(14)

    def upload_direct(data: bytes) -> None:
        image, token = service.upload(data=data, filename="r.jpg", viewer=Viewer())
        with lock:
            alive.append((image.id, token or ""))

    def upload_presigned(data: bytes) -> None:
        ticket = service.request_upload(filename="r.jpg", content_type="image/jpeg", size=len(data), viewer=Viewer())
        s3.put_object(Bucket=bucket, Key=original_key(ticket.image.id), Body=data)
        assert processor.handle_object(original_key(ticket.image.id)) == "ready"
        with lock:
            alive.append((ticket.image.id, ticket.delete_token or ""))

    def delete(victim: tuple[str, str]) -> None:
        with contextlib.suppress(ImageNotFound):  # another thread of this round deleted it first
            service.delete(victim[0], viewer=Viewer(), delete_token=victim[1])

    def run(job: Any, *args: Any) -> None:
        try:
            job(*args)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    started = time.monotonic()
    done = 0
    while done < rounds and time.monotonic() - started < RACE_SECONDS:
        jobs: list[tuple[Any, tuple[Any, ...]]] = []
        with lock:
            victims = rng.sample(alive, k=min(len(alive), RACE_THREADS // 2))
            for victim in victims:
                alive.remove(victim)
        jobs += [(delete, (victim,)) for victim in victims]
        # Sometimes two deletes of the same record race too.
        if victims and rng.random() < 0.3:
            jobs.append((delete, (victims[0],)))
        while len(jobs) < RACE_THREADS:
            jobs.append((rng.choice([upload_direct, upload_presigned]), (rng.choice(variants),)))
        threads = [threading.Thread(target=run, args=(job, *args)) for job, args in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], errors
        check_invariants()
        done += 1
    assert done >= min(rounds, 5)
    for victim in list(alive):
        delete(victim)
    check_invariants()
    assert bucket_keys() == []


def test_a_run_killed_before_its_commit_leaves_nothing_once_the_retry_finishes(client: Client) -> None:
    """The generation is chosen with the record, so the retry writes over what the killed run wrote."""
    data = make_jpeg(400, 300, color=(7, 7, 7))
    payload = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)}
    ticket = body(client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps(payload)))
    processor = composition.processor()
    pending = composition.image_records().get(ticket["id"])
    # The killed run: processed and wrote its renditions, then died (no handler ran, nothing committed).
    processed = processor.ingest.process(data, max_bytes=10**8)
    processor.ingest._write_generation(processed, pending.generation or "", created_at=pending.created_at)
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=original_key(ticket["id"]), Body=data)
    assert drain_queue() == []
    record = composition.image_records().get(ticket["id"])
    assert record.status == READY
    assert bucket_keys() == sorted([record.file_key or "", *record.thumbnails.values(), *record.variant_keys()])
