"""Files from the generated hostile corpus through the running stack (presigned POST -> processor).

A bomb ends ``rejected`` with its reason and nothing stored; a polyglot or a file with location text ends
``ready`` and the file we serve (followed through the API's redirect) carries none of the payload, ends where
the image ends, and is the file whose hash we publish. The whole corpus runs in-process in
``tests/unit/test_hostile_corpus.py``; these few prove the same through the real upload path.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from scripts import hostile_corpus
from tests.integration.conftest import Api

pytestmark = pytest.mark.integration

CONTENT_TYPES = {"png": "image/png", "gif": "image/gif", "jpg": "image/jpeg", "webp": "image/webp"}
REJECTED = ["scan-bomb-2000px-300.jpg", "gif-1500-tiny-frames.gif", "png-50000-chunks.png"]
ACCEPTED = [
    "png-html-after-iend.png",
    "gif-html-after-trailer.gif",
    "png-text-gps.png",
    "gif-comment-location.gif",
    "jpeg-app13-wrong-length.jpg",
    "jpeg-20000x1.jpg",
]


def _item(name: str) -> hostile_corpus.HostileFile:
    return next(f for f in hostile_corpus.corpus() if f.name == name)


def _stored(aws_clients: dict[str, Any], image_id: str) -> list[str]:
    keys: list[str] = []
    for prefix in ("originals/", "files/", "thumbs/"):
        contents = aws_clients["s3"].list_objects_v2(Bucket="chitram-images", Prefix=prefix + image_id)
        keys += [o["Key"] for o in contents.get("Contents", [])]
    return keys


@pytest.mark.parametrize("name", REJECTED)
def test_a_bomb_uploaded_to_the_bucket_is_rejected_as_too_complex_and_removed(
    api: Api, aws_clients: dict[str, Any], name: str
) -> None:
    item = _item(name)
    ticket = api.direct_upload(item.data, name, CONTENT_TYPES[name.rsplit(".", 1)[1]])
    meta = api.wait_until_processed(ticket["id"])
    assert (meta["status"], meta["reject_reason"]) == ("rejected", "TOO_COMPLEX")
    assert _stored(aws_clients, ticket["id"]) == []


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_polyglot_or_location_text_is_served_without_its_payload(api: Api, name: str) -> None:
    item = _item(name)
    ticket = api.direct_upload(item.data, name, CONTENT_TYPES[name.rsplit(".", 1)[1]])
    meta = api.wait_until_processed(ticket["id"])
    assert meta["status"] == "ready", meta
    redirect = api.get(f"/api/v1/images/{ticket['id']}/file")
    assert redirect.status_code == 302
    served = requests.get(redirect.headers["Location"], timeout=30).content
    for payload in item.forbidden:
        assert payload not in served
    assert len(served) <= len(item.data)
    assert meta["sha256"] == hashlib.sha256(served).hexdigest()
    if item.forbidden:
        assert meta["sha256"] != hashlib.sha256(item.data).hexdigest()
