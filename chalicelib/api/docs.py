"""``GET /api/v1/openapi.json``: the OpenAPI document of the whole API (a test keeps it in step with the routes)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.responses import handles_errors, json_response

OPENAPI_PATH = Path(__file__).with_name("openapi.json")

docs_api = Blueprint(__name__)


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return document


@docs_api.route("/api/v1/openapi.json", methods=["GET"])
@handles_errors
def openapi() -> Response:
    return json_response(openapi_document(), headers={"Cache-Control": "public, max-age=300"})
