"""The edge resolver (``chalicelib/edge_resolver.py``) finds a record's companion thumbnails: every URL the image
JSON publishes in ``links.thumbnail_sources`` resolves to the key the record names, and only while the image is
readable by anyone with the link."""

from __future__ import annotations

from dataclasses import asdict, replace
from urllib.parse import urlsplit

from chalicelib import catalog, delivery
from chalicelib.api.presenters import thumbnail_sources
from chalicelib.edge_resolver import DynamoLookup, edge_record, resolve
from chalicelib.records import Image

SHORT = "AbCdEfGhIjK"
COMPANIONS = [c.format.extension for c in catalog.thumbnail_companions()]


def ready_image(visibility: str = "public") -> Image:
    prefix = "public/" if visibility != "private" else "private/"
    sizes = [str(s) for s in catalog.THUMBNAIL_SIZES]
    return Image(
        id="0f8fad5b-d9cb-469f-a165-70867728950e",
        status="ready",
        filename="harbour.jpg",
        content_type="image/jpeg",
        size=1000,
        created_at="2026-11-30T00:00:00+00:00",
        visibility=visibility,
        width=1200,
        height=800,
        file_key=f"{prefix}i/{SHORT}.jpg",
        thumbnails={s: f"{prefix}i/{SHORT}/{s}.jpg" for s in sizes},
        thumbnail_variants={s: {ext: f"{prefix}i/{SHORT}/{s}.{ext}" for ext in COMPANIONS} for s in sizes},
        short_id=SHORT,
    )


def test_every_published_source_resolves_to_the_records_key() -> None:
    image = ready_image()
    record = edge_record(asdict(image))
    sources = thumbnail_sources(image, "https://chitram.example")
    assert sources
    for size, by_format in sources.items():
        for extension, url in by_format.items():
            key = resolve(urlsplit(url).path, lambda ref: record if ref == SHORT else None)
            expected = image.thumbnails[size] if extension == "jpg" else image.thumbnail_variants[size][extension]
            assert key == expected


def test_a_private_image_s_companions_resolve_to_nothing() -> None:
    record = edge_record(asdict(ready_image("private")))
    for extension in COMPANIONS:
        assert resolve(delivery.rendition_path(SHORT, "600", extension), lambda ref: record) is None


def test_a_record_without_companions_serves_none() -> None:
    record = edge_record(asdict(replace(ready_image(), thumbnail_variants={})))
    assert resolve(delivery.rendition_path(SHORT, "600", "webp"), lambda ref: record) is None


def test_the_cdn_lookup_reads_the_companions_field() -> None:
    assert "thumbnail_variants" in DynamoLookup.FIELDS
