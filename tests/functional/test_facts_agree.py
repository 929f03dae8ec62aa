"""Every published copy of a product fact says what ``chalicelib/catalog.py`` and the settings say.

The copies: the OpenAPI document (``chalicelib/api/openapi.py`` and each route module's section), the web front
end's ``config.js`` (``chalicelib/site_config.py``, which the pages read instead of keeping their own), and the
deployable template (``infra/template.py``). The facts: accepted formats, rendition sizes, visibilities, upload
and page-size limits, password rules. Each check walks the whole document or file, so a route or a page added
later is covered without being named here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib import catalog
from chalicelib.api import docs
from chalicelib.api.docs import openapi_document
from chalicelib.settings import Settings
from chalicelib.site_config import config_js, site_config
from tests.conftest import ROOT

WEB = ROOT / "web"
# Limits a deployer could set per stage: config.js for a deployment is generated from the same variables.
PUBLIC_LIMIT_VARIABLES = ("MAX_UPLOAD_BYTES", "API_UPLOAD_MAX_BYTES", "PAGE_SIZE_DEFAULT", "PAGE_SIZE_MAX")


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) in a JSON-like tree, the root included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))


def properties_named(document: dict[str, Any], name: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Schemas of every property or parameter called ``name`` anywhere in the document."""
    found = []
    for path, node in walk(document):
        if isinstance(node, dict) and isinstance(node.get("properties"), dict) and name in node["properties"]:
            found.append(((*path, "properties", name), node["properties"][name]))
        if isinstance(node, dict) and node.get("in") in {"query", "path", "header"} and node.get("name") == name:
            found.append((path, node["schema"]))
    return found


def parse_config_js(text: str) -> dict[str, Any]:
    """``export const NAME = <JSON>;`` lines (the only shape site_config writes) back into values."""
    exports = {}
    for line in text.splitlines():
        if not line or line.startswith("//"):
            continue
        match = re.fullmatch(r"export const ([A-Z][A-Z0-9_]*) = (.*);", line)
        assert match, f"config.js line is not a JSON constant: {line!r}"
        exports[match.group(1)] = json.loads(match.group(2))
    return exports


def accepted_mime_types() -> list[str]:
    """What the upload service takes, in catalog order: each format's MIME type, then its aliases."""
    listed = [m for f in catalog.accepted_formats() for m in (f.mime_type, *f.mime_aliases)]
    assert set(listed) == catalog.accepted_mime_types()
    return listed


@pytest.fixture(params=["defaults", "other-limits"])
def settings(request: pytest.FixtureRequest) -> Settings:
    """The defaults, and limits unlike any default, so a copied number cannot pass by coincidence."""
    if request.param == "defaults":
        return Settings()
    return replace(
        Settings(), max_upload_bytes=7_777_777, api_upload_max_bytes=3_333_333, page_size_default=7, page_size_max=33
    )


@pytest.fixture
def without_avif(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A build whose Pillow has no AVIF decoder (a Lambda layer without libavif, say)."""
    monkeypatch.setattr(catalog, "_pillow_has", lambda module: module != "avif")
    docs._document.cache_clear()
    yield
    docs._document.cache_clear()


# --- the OpenAPI document ----------------------------------------------------------------------------


def test_openapi_offers_exactly_the_decodable_formats(settings: Settings) -> None:
    document = openapi_document(settings)
    image_enums = [
        node["enum"]
        for _, node in walk(document)
        if isinstance(node, dict) and any(str(value).startswith("image/") for value in node.get("enum", []))
    ]
    assert image_enums, "no upload content_type enum found in the OpenAPI document"
    for enum in image_enums:
        assert sorted(enum) == sorted(accepted_mime_types())


def test_openapi_and_config_drop_formats_this_build_cannot_decode(without_avif: None) -> None:
    assert "image/avif" not in accepted_mime_types()
    upload = openapi_document(Settings())["components"]["schemas"]["UploadUrlRequest"]
    assert "image/avif" not in upload["properties"]["content_type"]["enum"]
    config = site_config(Settings(), api_base="")
    assert "image/avif" not in config["UPLOADABLE_TYPES"]
    assert "avif" not in config["ACCEPT"]
    assert "AVIF" not in [f["label"] for f in config["FORMATS"]]


def test_openapi_visibilities_are_the_catalog_s(settings: Settings) -> None:
    found = properties_named(openapi_document(settings), "visibility")
    assert len(found) >= 3  # upload-url, multipart upload, PATCH, Image
    for where, schema in found:
        assert schema["enum"] == list(catalog.VISIBILITIES), where


def test_openapi_thumbnail_sizes_are_the_catalog_s(settings: Settings) -> None:
    document = openapi_document(settings)
    sizes = properties_named(document, "size")
    thumbnail_params = [schema for where, schema in sizes if "parameters" in where]
    assert thumbnail_params
    for schema in thumbnail_params:
        assert schema["enum"] == sorted(catalog.THUMBNAIL_SIZES)
        assert schema["default"] == catalog.DEFAULT_THUMBNAIL_SIZE
    names = sorted((r.name for r in catalog.RENDITIONS if r.kind == "thumbnail"), key=int)
    keyed = [schema for _, schema in properties_named(document, "thumbnails")]
    assert len(keyed) >= 2  # Image.thumbnails and Image.owner_links.thumbnails
    for schema in keyed:
        assert schema["propertyNames"]["enum"] == names


def test_openapi_thumbnail_sources_are_the_catalog_s(settings: Settings) -> None:
    found = properties_named(openapi_document(settings), "thumbnail_sources")
    assert found
    names = sorted((r.name for r in catalog.RENDITIONS if r.kind == "thumbnail"), key=int)
    for where, schema in found:
        assert schema["propertyNames"]["enum"] == names, where
        by_format = schema["additionalProperties"]["propertyNames"]["enum"]
        companions = [c.format.extension for c in catalog.thumbnail_companions()]
        assert by_format[: len(companions)] == companions
        thumbnail_own = {catalog.format_named(n).extension for n in ("JPEG", "WEBP")}
        assert set(by_format) == set(companions) | thumbnail_own


def test_config_js_and_openapi_drop_companions_this_build_cannot_encode(without_avif: None) -> None:
    config = site_config(Settings(), api_base="")
    assert [c["extension"] for c in config["THUMBNAIL_COMPANIONS"]] == ["webp"]
    schema = properties_named(openapi_document(Settings()), "thumbnail_sources")[0][1]
    assert "avif" not in schema["additionalProperties"]["propertyNames"]["enum"]


def test_openapi_limits_follow_the_settings(settings: Settings) -> None:
    document = openapi_document(settings)
    upload = document["components"]["schemas"]["UploadUrlRequest"]["properties"]["size"]
    assert upload["maximum"] == settings.max_upload_bytes
    limits = [schema for where, schema in properties_named(document, "limit") if "parameters" in where]
    assert len(limits) >= 2  # the gallery and "my images"
    for schema in limits:
        assert (schema["maximum"], schema["default"]) == (settings.page_size_max, settings.page_size_default)


def test_openapi_password_rules_are_the_catalog_s(settings: Settings) -> None:
    document = openapi_document(settings)
    chosen = properties_named(document, "password") + properties_named(document, "new_password")
    with_rules = [schema for _, schema in chosen if "minLength" in schema]
    assert len(with_rules) >= 2  # register (and login) + reset confirm
    for schema in with_rules:
        assert schema["minLength"] == catalog.PASSWORD_MIN_CHARS


def test_every_schema_reference_resolves() -> None:
    document = openapi_document(Settings())
    defined = set(document["components"]["schemas"])
    refs = {node["$ref"] for _, node in walk(document) if isinstance(node, dict) and "$ref" in node}
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= defined


# --- config.js -----------------------------------------------------------------------------------------


def test_config_js_publishes_the_catalog_and_the_settings(settings: Settings) -> None:
    config = parse_config_js(config_js(settings, api_base="https://api.example.com/api/"))
    assert config["API_BASE"] == "https://api.example.com/api"
    assert config["UPLOADABLE_TYPES"] == accepted_mime_types()
    assert [f["name"] for f in config["FORMATS"]] == [f.name for f in catalog.accepted_formats()]
    accept = config["ACCEPT"].split(",")
    for fmt in catalog.accepted_formats():
        assert fmt.mime_type in accept
        assert {f".{ext}" for ext in fmt.extensions} <= set(accept)
    assert config["THUMBNAIL_SIZES"] == sorted(catalog.THUMBNAIL_SIZES)
    assert config["THUMBNAIL_COMPANIONS"] == [
        {"name": c.format.name, "mime_type": c.format.mime_type, "extension": c.format.extension}
        for c in catalog.thumbnail_companions()
    ]
    assert config["DEFAULT_THUMBNAIL_SIZE"] == catalog.DEFAULT_THUMBNAIL_SIZE
    assert [v["name"] for v in config["VISIBILITIES"]] == list(catalog.VISIBILITIES)
    assert config["DEFAULT_VISIBILITY"] == catalog.DEFAULT_VISIBILITY
    assert config["PASSWORD_MIN_CHARS"] == catalog.PASSWORD_MIN_CHARS
    assert config["PASSWORD_MAX_BYTES"] == catalog.PASSWORD_MAX_BYTES
    assert config["MAX_UPLOAD_BYTES"] == settings.max_upload_bytes
    assert config["PAGE_SIZE_DEFAULT"] == settings.page_size_default
    assert config["PAGE_SIZE_MAX"] == settings.page_size_max


def test_config_js_and_openapi_agree(settings: Settings) -> None:
    config = site_config(settings, api_base="")
    schemas = openapi_document(settings)["components"]["schemas"]
    upload = schemas["UploadUrlRequest"]["properties"]
    assert sorted(upload["content_type"]["enum"]) == sorted(config["UPLOADABLE_TYPES"])
    assert upload["size"]["maximum"] == config["MAX_UPLOAD_BYTES"]
    assert upload["visibility"]["enum"] == [v["name"] for v in config["VISIBILITIES"]]
    thumbnails = schemas["Image"]["properties"]["thumbnails"]["propertyNames"]["enum"]
    assert [int(name) for name in thumbnails] == config["THUMBNAIL_SIZES"]
    sources = schemas["Image"]["properties"]["links"]["properties"]["thumbnail_sources"]
    companions = [c["extension"] for c in config["THUMBNAIL_COMPANIONS"]]
    assert sources["additionalProperties"]["propertyNames"]["enum"][: len(companions)] == companions


def web_sources(*suffixes: str) -> list[Path]:
    return sorted(path for path in WEB.rglob("*") if path.suffix in suffixes)


def test_the_web_front_end_reads_only_what_config_js_exports() -> None:
    exported = set(site_config(Settings(), api_base=""))
    imported: set[str] = set()
    pattern = re.compile(r"(?:import|export)\s*\{([^}]*)\}\s*from\s*\"\.\./config\.js\"", re.S)
    for path in web_sources(".js"):
        for names in pattern.findall(path.read_text()):
            imported |= {name.split(" as ")[0].strip() for name in names.split(",") if name.strip()}
        for name in re.findall(r"\bconfig\.([A-Z][A-Z0-9_]*)", path.read_text()):
            imported.add(name)
    assert imported, "no page reads config.js"
    assert imported <= exported, f"read from config.js but not exported: {sorted(imported - exported)}"


@pytest.mark.parametrize("path", web_sources(".js", ".html"), ids=lambda p: str(p.relative_to(WEB)))
def test_no_web_page_keeps_its_own_copy_of_a_fact(path: Path) -> None:
    text = path.read_text()
    mime_types = {f.mime_type for f in catalog.FORMATS}
    assert not [m for m in mime_types if m in text], "MIME types belong to config.js (UPLOADABLE_TYPES, ACCEPT)"
    assert not re.search(r"\b(JPEG|PNG|GIF|WebP|AVIF)\s*,\s*(JPEG|PNG|GIF|WebP|AVIF)", text), "a format list"
    assert not re.search(r"\d+\s*MB\b", text), "an upload limit in words"
    assert "minlength=" not in text.lower(), "the password minimum belongs to config.js"
    assert "Content-Security-Policy" not in text, "the CSP is a response header (chalicelib/site_headers.py)"


# --- the deployable template ----------------------------------------------------------------------------


def test_the_template_names_only_catalog_formats_and_leaves_limits_to_the_settings() -> None:
    from infra.template import build

    template = build()
    mime_types = {m for f in catalog.FORMATS for m in (f.mime_type, *f.mime_aliases)}
    named = {node for _, node in walk(template) if isinstance(node, str) and re.fullmatch(r"image/[\w.+-]+", node)}
    assert named <= mime_types
    # config.js for a deployment is generated from the settings' defaults (or the same variables): a stage that
    # set a limit in the template alone would enforce one number and tell browsers another.
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert not set(PUBLIC_LIMIT_VARIABLES) & set(variables)
