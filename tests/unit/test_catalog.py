"""The catalog of product facts: internally consistent, and in agreement with the code that used to own them."""

from __future__ import annotations

import json

from chalicelib import catalog
from chalicelib.settings import Settings


def test_format_names_mime_types_and_extensions_are_unique() -> None:
    names = [f.name for f in catalog.FORMATS]
    mimes = [f.mime_type for f in catalog.FORMATS]
    extensions = [ext for f in catalog.FORMATS for ext in f.extensions]
    assert len(set(names)) == len(names)
    assert len(set(mimes)) == len(mimes)
    assert len(set(extensions)) == len(extensions)
    for f in catalog.FORMATS:
        assert f.extensions[0] == f.extension
        assert f.mime_type.startswith("image/")


def test_the_four_web_formats_are_always_accepted_and_avif_only_when_pillow_decodes_it() -> None:
    from PIL import features

    accepted = catalog.accepted_format_names()
    assert {"JPEG", "PNG", "GIF", "WEBP"} <= accepted
    assert ("AVIF" in accepted) == bool(features.check_module("avif"))
    assert catalog.accepted_mime_types() == {
        mime for n in accepted for mime in (catalog.format_named(n).mime_type, *catalog.format_named(n).mime_aliases)
    }


def test_renditions_are_largest_first_with_unique_names() -> None:
    sides = [r.longest_side for r in catalog.RENDITIONS]
    assert sides == sorted(sides, reverse=True)
    assert len({r.name for r in catalog.RENDITIONS}) == len(catalog.RENDITIONS)
    assert catalog.THUMBNAIL_SIZES == (600, 300, 150)
    assert catalog.DEFAULT_THUMBNAIL_SIZE in catalog.THUMBNAIL_SIZES


def test_visibilities_default_to_public() -> None:
    assert catalog.VISIBILITIES == ("public", "unlisted", "private")
    assert catalog.DEFAULT_VISIBILITY in catalog.VISIBILITIES


def test_public_facts_are_json_and_carry_the_settings_limits() -> None:
    settings = Settings(max_upload_bytes=123, page_size_default=7, page_size_max=9)
    facts = catalog.public_facts(settings)
    assert json.loads(json.dumps(facts)) == facts
    assert facts["limits"]["max_upload_bytes"] == 123
    assert (facts["limits"]["page_size_default"], facts["limits"]["page_size_max"]) == (7, 9)
    # Every Content-Type the upload service takes, aliases included (a browser may call a .heif file image/heif).
    assert set(facts["uploadable_types"]) == catalog.accepted_mime_types()
    assert len(facts["uploadable_types"]) == len(set(facts["uploadable_types"]))
    assert facts["thumbnail_sizes"] == [150, 300, 600]
    assert [v["name"] for v in facts["visibilities"]] == list(catalog.VISIBILITIES)


def test_every_catalog_format_has_a_scrubber_and_every_scrubber_a_catalog_format() -> None:
    from chalicelib.imaging.scrubbers import SCRUBBERS

    assert set(SCRUBBERS) == {f.name for f in catalog.FORMATS}


def test_the_copies_that_moved_here_read_the_catalog() -> None:
    from chalicelib import imaging, records
    from chalicelib.auth import passwords

    assert imaging.THUMBNAIL_SIZES == catalog.THUMBNAIL_SIZES
    assert catalog.accepted_format_names() == imaging.ALLOWED_FORMATS
    assert records.VISIBILITIES == catalog.VISIBILITIES
    assert (passwords.MIN_PASSWORD_CHARS, passwords.MAX_PASSWORD_BYTES) == (
        catalog.PASSWORD_MIN_CHARS,
        catalog.PASSWORD_MAX_BYTES,
    )
