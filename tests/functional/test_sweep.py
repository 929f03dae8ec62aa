"""scripts/sweep finds each kind of leftover, changes nothing on a dry run, and fixes all of them with --apply."""

from __future__ import annotations

import time

import boto3
import pytest

from chalicelib import composition
from chalicelib.contents import Content, Contents
from chalicelib.records import PENDING, Image
from chalicelib.settings import get_settings
from tests.conftest import load_script, make_jpeg, make_png

sweep = load_script("sweep")


def put(key: str, data: bytes = b"x") -> None:
    boto3.client("s3").put_object(Bucket=get_settings().bucket_name, Key=key, Body=data)


def exists(key: str) -> bool:
    return composition.storage().exists(key)


def pending(image_id: str, *, expires_at: int) -> None:
    composition.image_records().create(
        Image(
            id=image_id,
            status=PENDING,
            filename="a.jpg",
            content_type="image/jpeg",
            size=10,
            created_at="2026-01-01T00:00:00.000Z",
            expires_at=expires_at,
        )
    )


@pytest.fixture
def planted(aws: None) -> dict[str, str]:
    """One of each leftover, beside a healthy ready image and a pending upload still in its window."""
    now = int(time.time())
    service = composition.image_service()
    from chalicelib.services.images import Viewer

    healthy, _ = service.upload(data=make_jpeg(64, 48), filename="ok.jpg", viewer=Viewer())
    lost, _ = service.upload(data=make_png(32, 32), filename="lost.png", viewer=Viewer())
    composition.storage().delete([lost.file_key or ""])  # its record now points at nothing
    pending("expired-1", expires_at=now - 60)
    put("originals/expired-1")
    pending("fresh-1", expires_at=now + 3600)
    put("originals/ghost-original")
    put("files/ghost-file.jpg")
    put("thumbs/ghost-thumb/150.jpg")
    return {"healthy": healthy.id, "lost": lost.id, "lost_thumb": lost.thumbnails["150"]}


def test_dry_run_reports_every_kind_of_leftover_and_changes_nothing(planted: dict[str, str]) -> None:
    assert sweep.main(["--min-age", "0"]) == 0
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [f.image_id for f in report.of_kind("expired-pending")] == ["expired-1"]
    assert [f.image_id for f in report.of_kind("missing-object")] == [planted["lost"]]
    assert {(f.image_id, f.keys) for f in report.of_kind("orphan-object")} == {
        ("ghost-original", ("originals/ghost-original",)),
        ("ghost-file", ("files/ghost-file.jpg",)),
        ("ghost-thumb", ("thumbs/ghost-thumb/150.jpg",)),
    }
    assert exists("files/ghost-file.jpg")
    assert composition.image_records().get("expired-1").status == PENDING


def test_apply_fixes_every_leftover_and_leaves_healthy_images_alone(planted: dict[str, str]) -> None:
    from chalicelib.errors import ImageNotFound

    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    assert sweep.find(now=time.time(), min_age_seconds=0).findings == []
    for key in (
        "originals/expired-1",
        "originals/ghost-original",
        "files/ghost-file.jpg",
        "thumbs/ghost-thumb/150.jpg",
        planted["lost_thumb"],
    ):
        assert not exists(key), key
    for image_id in ("expired-1", planted["lost"]):
        with pytest.raises(ImageNotFound):
            composition.image_records().get(image_id)
    healthy = composition.image_records().get(planted["healthy"])
    assert exists(healthy.file_key or "")
    assert all(exists(key) for key in healthy.thumbnails.values())
    assert composition.image_records().get("fresh-1").status == PENDING


def test_young_objects_are_never_orphans(planted: dict[str, str]) -> None:
    report = sweep.find(now=time.time(), min_age_seconds=3600)
    assert report.of_kind("orphan-object") == []


def test_abandoned_multipart_uploads_are_reported_and_aborted_but_live_ones_kept(aws: None) -> None:
    from dataclasses import replace

    storage = composition.storage()
    abandoned = storage.create_multipart("originals/gone-1", content_type="image/jpeg")
    live_id = storage.create_multipart("originals/live-1", content_type="image/jpeg")
    pending("live-1", expires_at=int(time.time()) + 3600)
    live = composition.image_records().get("live-1")
    composition.image_records().delete("live-1")
    composition.image_records().create(replace(live, upload_id=live_id))

    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [(f.image_id, f.upload_id) for f in report.of_kind("incomplete-multipart")] == [("gone-1", abandoned)]
    # (moto reports every upload as initiated in 2010, so --min-age sparing young uploads is not testable here.)

    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    open_ids = [upload_id for _key, upload_id, _when in storage.incomplete_multipart_uploads()]
    assert open_ids == [live_id]


# --- content-addressed renditions (ADR 0013) -------------------------------------------------------------------


def _shared(n: int = 2) -> list[Image]:
    from chalicelib.services.images import Viewer

    service = composition.image_service()
    data = make_jpeg(64, 48, color=(1, 2, 3))
    return [service.upload(data=data, filename=f"{i}.jpg", viewer=Viewer())[0] for i in range(n)]


def _content(image: Image) -> Content:
    found = Contents().get(image.content_id or "")
    assert found is not None
    return found


def test_orphan_generations_and_older_prefixes_are_found_and_removed(aws: None) -> None:
    (healthy,) = _shared(1)
    put("content/ghostGeneration1/file.jpg")
    put("content/ghostGeneration1/150.jpg")
    put("public/i/AbCdEfGhIjK.jpg")
    put("private/i/AbCdEfGhIjK/600.jpg")
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert {f.image_id for f in report.of_kind("orphan-object")} == {"content/ghostGeneration1", "AbCdEfGhIjK"}
    orphaned = {key for f in report.of_kind("orphan-object") for key in f.keys}
    assert orphaned == {
        "content/ghostGeneration1/150.jpg",
        "content/ghostGeneration1/file.jpg",
        "public/i/AbCdEfGhIjK.jpg",
        "private/i/AbCdEfGhIjK/600.jpg",
    }
    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    assert not any(exists(key) for key in orphaned)
    assert all(exists(key) for key in _content(healthy).all_keys())  # the live generation is untouched
    assert sweep.find(now=time.time(), min_age_seconds=0).findings == []


@pytest.mark.parametrize("wrong", [0, 1, 5])
def test_a_count_that_disagrees_with_the_records_is_reported_and_corrected(aws: None, wrong: int) -> None:
    first, second = _shared(2)
    content = _content(first)
    assert content.refs == 2
    Contents().set_refs(content.content_id, content.cref, wrong, expected=2)
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [(f.image_id, f.refs) for f in report.of_kind("refs-mismatch")] == [(content.content_id, 2)]
    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    assert _content(second).refs == 2
    assert all(exists(key) for key in content.all_keys())
    assert sweep.find(now=time.time(), min_age_seconds=0).findings == []


def test_an_item_nobody_points_at_is_removed_with_its_objects(aws: None) -> None:
    (image,) = _shared(1)
    content = _content(image)
    composition.image_records().delete(image.id)  # a crash after the record went, before the reference did
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [(f.image_id, f.refs) for f in report.of_kind("refs-mismatch")] == [(content.content_id, 0)]
    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    assert Contents().get(content.content_id) is None
    assert not any(exists(key) for key in content.all_keys())


def test_records_whose_item_is_gone_get_it_back(aws: None) -> None:
    from chalicelib.models import ContentRecord

    first, _second = _shared(2)
    content = _content(first)
    ContentRecord(id="content#" + content.content_id).delete()
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [(f.image_id, f.refs) for f in report.of_kind("missing-content")] == [(content.content_id, 2)]
    assert report.of_kind("orphan-object") == []  # the records still name the objects
    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    restored = _content(first)
    assert (restored.cref, restored.refs) == (content.cref, 2)
    assert sweep.find(now=time.time(), min_age_seconds=0).findings == []


def test_shared_renditions_whose_file_is_gone_take_their_records_and_item_with_them(aws: None) -> None:
    from chalicelib.errors import ImageNotFound

    first, second = _shared(2)
    content = _content(first)
    composition.storage().delete([content.file_key])
    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert {f.image_id for f in report.of_kind("missing-object")} == {first.id, second.id}
    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    for image in (first, second):
        with pytest.raises(ImageNotFound):
            composition.image_records().get(image.id)
    assert Contents().get(content.content_id) is None
    assert not any(exists(key) for key in content.all_keys())


def _forget_fingerprints(image_id: str) -> None:
    """What a record processed before perceptual hashes and placeholders existed looks like."""
    from chalicelib.models import ImageRecord

    ImageRecord(id=image_id).update(actions=[ImageRecord.dhash.remove(), ImageRecord.blurhash.remove()])
    composition.metadata_cache().invalidate(image_id)


def test_older_images_get_the_fingerprints_an_upload_gets_today(aws: None) -> None:
    from chalicelib.services.images import Viewer

    service = composition.image_service()
    older, _ = service.upload(data=make_jpeg(64, 48), filename="older.jpg", viewer=Viewer())
    current, _ = service.upload(data=make_png(40, 30), filename="current.png", viewer=Viewer())
    _forget_fingerprints(older.id)

    report = sweep.find(now=time.time(), min_age_seconds=0)
    assert [(f.image_id, f.keys) for f in report.of_kind("missing-fingerprints")] == [(older.id, (older.file_key,))]
    assert composition.image_records().get(older.id).dhash is None  # a dry run writes nothing

    assert sweep.main(["--apply", "--min-age", "0"]) == 0
    backfilled = composition.image_records().get(older.id)
    assert (backfilled.dhash, backfilled.blurhash) == (older.dhash, older.blurhash)  # exactly the upload's
    assert exists(str(older.file_key))  # the file it read is not a leftover
    assert composition.image_records().get(current.id).dhash == current.dhash
    assert sweep.find(now=time.time(), min_age_seconds=0).of_kind("missing-fingerprints") == []


def test_fingerprints_are_not_written_over_an_image_that_changed_since_the_scan(aws: None) -> None:
    from chalicelib.services.images import Viewer

    image, token = composition.image_service().upload(data=make_jpeg(64, 48), filename="a.jpg", viewer=Viewer())
    _forget_fingerprints(image.id)
    report = sweep.find(now=time.time(), min_age_seconds=0)
    composition.image_service().delete(image.id, viewer=Viewer(), delete_token=token)

    sweep.apply(report)  # logs and moves on; nothing recreated

    from chalicelib.errors import ImageNotFound

    with pytest.raises(ImageNotFound):
        composition.image_records().get(image.id)


def test_a_served_file_todays_pipeline_refuses_is_left_without_fingerprints(aws: None) -> None:
    from chalicelib.services.images import Viewer

    image, _ = composition.image_service().upload(data=make_jpeg(64, 48), filename="a.jpg", viewer=Viewer())
    _forget_fingerprints(image.id)
    put(str(image.file_key), b"not an image any more")

    assert sweep.main(["--apply", "--min-age", "0"]) == 0

    record = composition.image_records().get(image.id)
    assert (record.status, record.dhash, record.blurhash) == ("ready", None, None)
