"""Companion encodings of every thumbnail (issue 10, formats for viewers): made per size with the thumbnail's
pixels in each catalog companion format, stored beside it at ``/i/{ref}/{size}.{ext}`` with the rendition headers,
named in the record (``thumbnail_variants``) and the image JSON (``links.thumbnail_sources``), and included by
everything that enumerates an image's objects: visibility moves, delete, verify."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from chalice.test import Client
from PIL import Image

from chalicelib import catalog, composition, delivery, imaging
from chalicelib.edge_resolver import content_disposition, resolve
from chalicelib.settings import get_settings
from tests.conftest import ROOT, make_png
from tests.functional.conftest import body
from tests.functional.test_ownership import ada, multipart, patch, upload  # noqa: F401 - ada is a fixture
from tests.functional.test_placement import RecordingInvalidator, cdn  # noqa: F401 - cdn is a fixture
from tests.functional.test_placement import lookup as edge_lookup

FIXTURES = ROOT / "tests" / "fixtures"
MAX_BYTES, MAX_PIXELS = 50 * 1024 * 1024, 100_000_000
COMPANION_EXTENSIONS = [c.format.extension for c in catalog.thumbnail_companions()]


@pytest.fixture
def without_avif(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build whose Pillow has no AVIF module (a Lambda layer without libavif)."""
    monkeypatch.setattr(catalog, "_pillow_has", lambda module: module != "avif")


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# --- the pipeline ------------------------------------------------------------------------------------


def test_the_catalog_names_webp_always_and_avif_where_this_build_encodes_it() -> None:
    names = [c.format_name for c in catalog.THUMBNAIL_COMPANIONS]
    assert "WEBP" in names
    assert "AVIF" in names
    assert names.index("AVIF") < names.index("WEBP")  # best first: the order of <source> elements
    assert [c.format_name for c in catalog.thumbnail_companions()] == [
        n for n in names if n != "AVIF" or catalog.format_named("AVIF").decodable
    ]


@pytest.mark.parametrize("name", ["landscape_1.jpg", "landscape_6.jpg", "jolla.jpg"])
def test_every_thumbnail_size_gets_each_companion_with_its_pixels_upright(name: str) -> None:
    processed = imaging.process((FIXTURES / name).read_bytes(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert set(processed.companions) == set(catalog.THUMBNAIL_SIZES)
    for size, thumbnail in processed.thumbnails.items():
        assert thumbnail.extension == "jpg"
        companions = processed.companions[size]
        assert list(companions) == COMPANION_EXTENSIONS
        for extension, rendition in companions.items():
            fmt = catalog.FORMATS_BY_MIME[rendition.content_type]
            assert (fmt.extension, rendition.extension) == (extension, extension)
            im = decoded(rendition.data)
            assert im.format == fmt.name  # the real type, not a label
            assert im.size == (rendition.width, rendition.height) == (thumbnail.width, thumbnail.height)
            assert max(im.size) == min(size, max(processed.width, processed.height))
            assert "exif" not in im.info  # nothing but pixels (and the colour profile)


def test_an_image_with_alpha_keeps_it_and_gets_no_second_webp() -> None:
    processed = imaging.process(make_png(64, 48, mode="RGBA"), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    for size, thumbnail in processed.thumbnails.items():
        assert thumbnail.extension == "webp"  # the thumbnail itself is the WebP (catalog.THUMBNAIL_ALPHA_FORMAT)
        companions = processed.companions[size]
        assert "webp" not in companions
        assert list(companions) == [e for e in COMPANION_EXTENSIONS if e != "webp"]
        for rendition in companions.values():
            assert decoded(rendition.data).mode in ("RGBA", "RGBa")


def test_without_an_avif_encoder_only_webp_is_made(without_avif: None) -> None:
    processed = imaging.process((FIXTURES / "landscape_1.jpg").read_bytes(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert {size: list(c) for size, c in processed.companions.items()} == {s: ["webp"] for s in catalog.THUMBNAIL_SIZES}


def test_no_companions_when_asked_for_none() -> None:
    processed = imaging.process(
        (FIXTURES / "landscape_1.jpg").read_bytes(), companions=(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
    )
    assert processed.companions == {s: {} for s in catalog.THUMBNAIL_SIZES}


# --- stored, named, served -----------------------------------------------------------------------------


def s3_head(key: str) -> dict[str, Any]:
    return dict(boto3.client("s3").head_object(Bucket=get_settings().bucket_name, Key=key))


def record(image_id: str) -> Any:
    return composition.image_records().get(image_id)


def test_an_upload_stores_each_companion_beside_its_thumbnail_with_the_rendition_headers(client: Client) -> None:
    image = upload(client)
    short = image["short_id"]
    stored = record(image["id"])
    generation = (stored.file_key or "").rsplit("/", 1)[0]  # content/{generation}: shared renditions (ADR 0013)
    assert generation.startswith("content/")
    extensions = [e for e in COMPANION_EXTENSIONS if e != "webp"]  # upload()'s PNG has alpha: thumbnails are WebP
    assert stored.thumbnail_variants == {
        str(size): {ext: f"{generation}/{size}.{ext}" for ext in extensions} for size in catalog.THUMBNAIL_SIZES
    }
    for size, by_format in stored.thumbnail_variants.items():
        for ext, key in by_format.items():
            head = s3_head(key)
            assert head["ContentType"] == catalog.FORMATS_BY_NAME[ext.upper()].mime_type
            assert head["CacheControl"] == delivery.IMMUTABLE_CACHE_CONTROL
            # Shared, so it names no record; the edge gives each record's URL its own name.
            assert head["ContentDisposition"] == f'inline; filename="{size}.{ext}"'
            path = delivery.rendition_path(short, size, ext)
            assert resolve(path, edge_lookup) == key
            assert content_disposition(path) == f'inline; filename="{short}-{size}.{ext}"'
            assert stored.digests[f"{size}.{ext}"]


def test_the_image_json_links_every_encoding_of_each_thumbnail(client: Client) -> None:
    headers, payload = multipart((FIXTURES / "landscape_1.jpg").read_bytes())  # a photo: JPEG thumbnails
    image = body(client.http.post("/api/v1/images/upload", headers=headers, body=payload))
    origin, short = get_settings().site_origin, image["short_id"]
    sources = image["links"]["thumbnail_sources"]
    assert list(sources) == sorted((str(s) for s in catalog.THUMBNAIL_SIZES), key=int)
    for size, by_format in sources.items():
        assert list(by_format) == [*COMPANION_EXTENSIONS, "jpg"]  # best first, the thumbnail itself last
        assert by_format == {ext: f"{origin}/i/{short}/{size}.{ext}" for ext in by_format}
        assert by_format["jpg"] == image["links"]["thumbnails"][size]
    fetched = body(client.http.get(f"/api/v1/images/{image['id']}"))
    assert fetched["links"]["thumbnail_sources"] == sources


def test_verify_reads_the_companions_too(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    image = upload(client, ada)
    report = body(client.http.get(f"/api/v1/images/{image['id']}/verify", headers=ada))
    roles = {o["role"]: o["result"] for o in report["objects"]}
    companions = {f"{size}.{ext}" for size in catalog.THUMBNAIL_SIZES for ext in COMPANION_EXTENSIONS if ext != "webp"}
    assert companions
    assert companions <= set(roles)
    assert report["result"] == "match"
    # A companion the store lost is reported as missing.
    key = record(image["id"]).thumbnail_variants["600"][COMPANION_EXTENSIONS[0]]
    boto3.client("s3").delete_object(Bucket=get_settings().bucket_name, Key=key)
    report = body(client.http.get(f"/api/v1/images/{image['id']}/verify", headers=ada))
    assert report["result"] == "missing"
    assert {o["role"] for o in report["objects"] if o["result"] == "missing"} == {f"600.{COMPANION_EXTENSIONS[0]}"}


def test_a_visibility_change_moves_no_companion_and_the_edge_follows_the_record(
    client: Client,
    ada: dict[str, str],  # noqa: F811
    cdn: RecordingInvalidator,  # noqa: F811
) -> None:
    image = upload(client, ada)
    before = record(image["id"])
    keys = [k for by_format in before.thumbnail_variants.values() for k in by_format.values()]
    assert keys
    paths = [
        delivery.rendition_path(before.ref, size, ext)
        for size, by_format in before.thumbnail_variants.items()
        for ext in by_format
    ]
    assert [resolve(path, edge_lookup) for path in paths] == keys
    assert patch(client, image["id"], ada, "private").status_code == 200
    moved = record(image["id"])
    assert moved.thumbnail_variants == before.thumbnail_variants  # nothing moved
    assert all(resolve(path, edge_lookup) is None for path in paths)  # and the edge serves none of them
    private_view = body(client.http.get(f"/api/v1/images/{image['id']}", headers=ada))
    assert "thumbnail_sources" not in private_view["links"]
    assert patch(client, image["id"], ada, "public").status_code == 200
    assert [resolve(path, edge_lookup) for path in paths] == keys
    assert all(s3_head(k)["CacheControl"] == delivery.IMMUTABLE_CACHE_CONTROL for k in keys)


def test_delete_removes_the_companions(client: Client, ada: dict[str, str]) -> None:  # noqa: F811
    image = upload(client, ada)
    keys = [k for by_format in record(image["id"]).thumbnail_variants.values() for k in by_format.values()]
    assert keys
    assert client.http.delete(f"/api/v1/images/{image['id']}", headers=ada).status_code == 204
    listed = boto3.client("s3").list_objects_v2(Bucket=get_settings().bucket_name).get("Contents", [])
    assert not {item["Key"] for item in listed} & set(keys)
