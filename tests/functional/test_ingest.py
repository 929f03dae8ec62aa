"""The one image pipeline (services/ingest.py) behind both upload paths, its ports, and the catalog's say in it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import boto3
import pytest
from chalice.test import Client

from chalicelib import catalog, composition
from chalicelib.errors import MetadataUnavailable
from chalicelib.records import Image
from chalicelib.services.images import ImageService, Viewer
from chalicelib.services.processor import Processor
from chalicelib.settings import get_settings
from chalicelib.storage import original_key
from tests.conftest import make_jpeg, make_png
from tests.functional.conftest import body

JSON = {"Content-Type": "application/json"}


@dataclass
class FakeMetrics:
    """The metrics port, recording what the services report."""

    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = field(default_factory=list)

    def record_upload(self, size_bytes: int, *, path: str) -> None:
        self.calls.append(("upload", (size_bytes,), {"path": path}))

    def record_processing(self, outcome: str, duration_ms: float, *, image_id: str) -> None:
        self.calls.append(("processing", (outcome,), {"image_id": image_id}))

    def record_reject(self, reason: str, *, image_id: str) -> None:
        self.calls.append(("reject", (reason,), {"image_id": image_id}))


def services(fake: FakeMetrics) -> tuple[ImageService, Processor]:
    parts = (get_settings(), composition.image_records(), composition.storage(), composition.metadata_cache())
    return ImageService(*parts, time.time, fake), Processor(*parts, time.time, fake)


def stored_keys() -> list[str]:
    s3 = boto3.client("s3")
    listing = s3.list_objects_v2(Bucket=get_settings().bucket_name)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def presigned(service: ImageService, data: bytes, content_type: str = "image/jpeg") -> Image:
    ticket = service.request_upload(filename="a.jpg", content_type=content_type, size=len(data), viewer=Viewer())
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=original_key(ticket.image.id), Body=data)
    return ticket.image


def test_both_upload_paths_report_through_the_injected_metrics_port(aws: None) -> None:
    fake = FakeMetrics()
    service, processor = services(fake)
    png = make_png(40, 30)
    image, _ = service.upload(data=png, filename="a.png", viewer=Viewer())
    assert fake.calls == [("upload", (len(png),), {"path": "api"})]
    assert image.status == "ready"
    assert image.processed_at == image.created_at

    fake.calls.clear()
    jpeg = make_jpeg(64, 48)
    pending = presigned(service, jpeg)
    assert processor.handle_object(original_key(pending.id)) == "ready"
    assert fake.calls[0] == ("upload", (len(jpeg),), {"path": "presigned"})
    assert fake.calls[1] == ("processing", ("ready",), {"image_id": pending.id})

    fake.calls.clear()
    junk = presigned(service, b"not an image at all")
    assert processor.handle_object(original_key(junk.id)) == "rejected"
    assert [c[0] for c in fake.calls] == ["reject", "processing"]


def test_an_api_upload_whose_record_write_fails_leaves_no_renditions(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeMetrics()
    service, _ = services(fake)

    def refuse(_: Image, _content: object = None) -> None:
        raise MetadataUnavailable()

    monkeypatch.setattr(service.records, "create", refuse)
    with pytest.raises(MetadataUnavailable):
        service.upload(data=make_png(40, 30), filename="a.png", viewer=Viewer())
    assert stored_keys() == []
    assert fake.calls == []


def test_a_lost_ready_race_keeps_the_winners_renditions(aws: None) -> None:
    """Two runs of the same event: the one that marked the record ready keeps its generation; the loser, which
    wrote its own generation, removes that (and only that)."""
    fake = FakeMetrics()
    service, processor = services(fake)
    data = make_jpeg(64, 48)
    pending = presigned(service, data)
    assert processor.handle_object(original_key(pending.id)) == "ready"
    winner = composition.image_records().get(pending.id)
    # The loser read the record while it was still pending, and its original is still there for it.
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=original_key(pending.id), Body=data)
    fake.calls.clear()
    assert processor._process(pending, original_key(pending.id)) == "duplicate"
    keys = stored_keys()
    assert original_key(pending.id) not in keys
    assert keys == sorted([winner.file_key or "", *winner.thumbnails.values(), *winner.variant_keys()])
    # The served copy, the JPEG thumbnails and each one's companions (catalog.THUMBNAIL_COMPANIONS).
    assert len(keys) == 1 + catalog.thumbnail_files()
    assert all(key.startswith("content/") for key in keys)
    assert fake.calls == []


def test_a_build_without_avif_hands_out_no_avif_upload_form(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_pillow_has", lambda module: False)
    payload = {"filename": "a.avif", "content_type": "image/avif", "size": 1234}
    response = client.http.post("/api/v1/images/upload-url", headers=JSON, body=json.dumps(payload))
    assert response.status_code == 400, response.body
    detail = body(response)["detail"]
    assert detail["code"] == "INVALID_FILE_FORMAT"
    assert "image/avif" not in detail["details"]["allowed"]
    assert "image/jpeg" in detail["details"]["allowed"]
    assert "image/avif" not in catalog.public_facts(get_settings())["uploadable_types"]


def test_thumbnail_sizes_and_default_come_from_the_catalog(client: Client) -> None:
    response = client.http.get("/api/v1/images/00000000-0000-0000-0000-000000000000/thumbnail?size=77")
    assert response.status_code == 400
    assert body(response)["detail"]["details"]["allowed"] == sorted(catalog.THUMBNAIL_SIZES)
