"""``GET /api/v1/openapi.json``: the OpenAPI document of the whole API (a test keeps it in step with the routes)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import auth, tokens
from chalicelib.api.openapi import build_document
from chalicelib.api.responses import handles_errors, json_response

docs_api = Blueprint(__name__)


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    return build_document(
        {**auth.OPENAPI_PATHS, **tokens.OPENAPI_PATHS}, {**auth.OPENAPI_SCHEMAS, **tokens.OPENAPI_SCHEMAS}
    )


@docs_api.route("/api/v1/openapi.json", methods=["GET"])
@handles_errors
def openapi() -> Response:
    return json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})
