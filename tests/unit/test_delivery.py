"""Short ids and the edge's path rules (``chalicelib.delivery``): the facts the CDN and the local edge share."""

from __future__ import annotations

import uuid

import pytest

from chalicelib import delivery


def test_short_ids_are_eleven_url_safe_characters_of_64_random_bits() -> None:
    ids = {delivery.new_short_id() for _ in range(2000)}
    assert len(ids) == 2000
    for short in ids:
        assert len(short) == delivery.SHORT_ID_CHARS <= 12
        assert delivery.is_short_id(short)
        assert "." not in short
        assert "/" not in short
    assert delivery.SHORT_ID_BYTES * 8 >= 64


def test_legacy_uuid_ids_are_accepted_wherever_a_short_id_is() -> None:
    legacy = str(uuid.uuid4())
    assert delivery.is_image_ref(legacy)
    assert delivery.route("/" + legacy) == "share"
    assert delivery.route("/" + delivery.new_short_id()) == "share"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/api/v1/images", "api"),
        ("/api/v1/oembed", "api"),
        ("/i/AbCdEfGhIjK.jpg", "images"),
        ("/i/AbCdEfGhIjK/600.webp", "images"),
        ("/AbCdEfGhIjK", "share"),
        ("/Ab-d_fGhIjK", "share"),
        # Site files, including ones exactly as long as a short id: every one has an extension.
        ("/signin.html", "site"),
        ("/index.html", "site"),
        ("/favicon.svg", "site"),
        ("/robots.txt", "site"),
        ("/css/style.css", "site"),
        ("/js/pages/image.js", "site"),
        ("/", "site"),
        ("/AbCdEfGhIj", "site"),  # ten characters: not a short id
        ("/AbCdEfGhIjKL", "site"),  # twelve
    ],
)
def test_paths_route_as_cloudfront_routes_them(path: str, target: str) -> None:
    assert delivery.route(path) == target


def test_public_paths_map_onto_the_public_prefix() -> None:
    path = delivery.direct_path("AbCdEfGhIjK", "jpg")
    assert path == "/i/AbCdEfGhIjK.jpg"
    assert delivery.public_key(path) == "public/i/AbCdEfGhIjK.jpg"
    assert delivery.public_key(delivery.rendition_path("x", "600", "webp")).startswith(delivery.PUBLIC_PREFIX)
    assert delivery.extension_of("thumbs/abc/600.webp") == "webp"
    assert delivery.extension_of("thumbs/a.b/600") == ""


def test_invalidation_paths_cover_file_renditions_and_page() -> None:
    paths = delivery.image_paths_prefix("AbCdEfGhIjK")
    assert paths == ["/i/AbCdEfGhIjK.*", "/i/AbCdEfGhIjK/*", "/AbCdEfGhIjK"]
    assert all(p.count("*") <= 1 and (p.endswith("*") or "*" not in p) for p in paths)  # CloudFront's rule
