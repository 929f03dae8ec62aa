"""``GET /api/v1/images/{id}/verify``: re-read an image's stored objects and compare their SHA-256s (owner)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import context
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.settings import Settings

integrity_api = Blueprint(__name__)


@integrity_api.route("/api/v1/images/{image_id}/verify", methods=["GET"])
@handles_errors
def verify_image(image_id: str) -> Response:
    request = integrity_api.current_request
    token = context.delete_token(request)
    report = composition.integrity_service().verify(image_id, viewer=context.viewer(request), delete_token=token)
    return json_response(report.to_json())


def openapi_section(settings: Settings) -> oa.Section:
    report = oa.object_schema(
        {
            "result": {"type": "string", "enum": ["match", "mismatch", "missing", "unknown"]},
            "ok": {"type": "boolean"},
            "objects": {"type": "array", "items": {"type": "object"}},
        }
    )
    return oa.Section(
        paths={
            "/api/v1/images/{image_id}/verify": {
                "parameters": [oa.path_param("image_id")],
                "get": {
                    "summary": "Re-read the stored objects and compare each SHA-256 with the one recorded (owner)",
                    "security": oa.OPTIONAL_BEARER,
                    "responses": {
                        "200": oa.json_response(report, "Report"),
                        **oa.error_responses(401, 403, 404, 409, 429),
                    },
                },
            }
        }
    )
