"""``GET /api/v1/openapi.json``: the OpenAPI document of the whole API, assembled from each route module's part.

Every route module defines ``openapi_section(settings) -> Section`` beside its views; :data:`SECTIONS` lists them
(a test fails when a served route is missing from the document, so a module left out of this list is noticed).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import auth, health, images, integrity, large_uploads, share, similar, tokens
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.settings import Settings, get_settings

docs_api = Blueprint(__name__)


def openapi_section(settings: Settings) -> oa.Section:
    return oa.Section(
        paths={
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}
            }
        }
    )


SECTIONS: tuple[oa.SectionBuilder, ...] = (
    health.openapi_section,
    images.openapi_section,
    large_uploads.openapi_section,
    integrity.openapi_section,
    auth.openapi_section,
    tokens.openapi_section,
    similar.openapi_section,
    share.openapi_section,
    openapi_section,
)


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The document for these settings (limits and page sizes are settings); ``None``: the current ones."""
    return _document(settings or get_settings())


@lru_cache(maxsize=4)
def _document(settings: Settings) -> dict[str, Any]:
    return oa.build_document(section(settings) for section in SECTIONS)


@docs_api.route("/api/v1/openapi.json", methods=["GET"])
@handles_errors
def openapi() -> Response:
    return json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})
