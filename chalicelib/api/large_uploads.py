"""Multipart upload routes for large files (``/api/v1/images/multipart`` and ``/{id}/multipart/...``).

The contract (consumers: the web front end, the CLI) is documented in docs/multipart-uploads.md and in the
OpenAPI document. The {id} routes take the owner's bearer token or, for anonymous uploads, ``X-Delete-Token``.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import composition
from chalicelib.api import bodies, context
from chalicelib.api.openapi import _errors, _json, _ref
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.services.multipart import describe_parts
from chalicelib.settings import get_settings

large_uploads_api = Blueprint(__name__)


def _delete_token(request: Request) -> str | None:
    return request.headers.get("x-delete-token") or bodies.query(request, "delete_token")


@large_uploads_api.route("/api/v1/images/multipart", methods=["POST"], content_types=["application/json"])
@handles_errors
def create_multipart_upload() -> Response:
    request = large_uploads_api.current_request
    viewer = context.viewer(request)
    body = bodies.json_object(request)
    composition.rate_limiter().hit(
        "uploads", viewer.source_ip or "unknown", get_settings().rate_limit_uploads_per_minute, 60
    )
    ticket = composition.multipart_service().create(
        filename=body.get("filename"),
        content_type=body.get("content_type"),
        size=body.get("size"),
        viewer=viewer,
        visibility=body.get("visibility"),
        sha256=body.get("sha256"),
    )
    return json_response(
        {
            "id": ticket.image.id,
            "status": ticket.image.status,
            "upload_id": ticket.upload_id,
            "part_size": ticket.part_size,
            "part_count": ticket.part_count,
            "expires_at": ticket.expires_at,
            "delete_token": ticket.delete_token,
            "image_url": f"/api/v1/images/{ticket.image.id}",
        },
        status=201,
    )


@large_uploads_api.route(
    "/api/v1/images/{image_id}/multipart/parts", methods=["POST"], content_types=["application/json"]
)
@handles_errors
def sign_multipart_parts(image_id: str) -> Response:
    request = large_uploads_api.current_request
    parts, expires_at = composition.multipart_service().sign_parts(
        image_id,
        bodies.json_object(request).get("parts"),
        viewer=context.viewer(request),
        delete_token=_delete_token(request),
    )
    return json_response(
        {
            "parts": [{"part_number": p.part_number, "url": p.url, "headers": p.headers} for p in parts],
            "expires_at": expires_at,
        }
    )


@large_uploads_api.route("/api/v1/images/{image_id}/multipart/parts", methods=["GET"])
@handles_errors
def list_multipart_parts(image_id: str) -> Response:
    request = large_uploads_api.current_request
    state = composition.multipart_service().state(
        image_id, viewer=context.viewer(request), delete_token=_delete_token(request)
    )
    return json_response(
        {
            "id": state.image.id,
            "upload_id": state.upload_id,
            "size": state.image.size,
            "part_size": state.part_size,
            "part_count": state.part_count,
            "parts": describe_parts(state.parts),
        }
    )


@large_uploads_api.route(
    "/api/v1/images/{image_id}/multipart/complete", methods=["POST"], content_types=["application/json"]
)
@handles_errors
def complete_multipart_upload(image_id: str) -> Response:
    request = large_uploads_api.current_request
    body = bodies.json_object(request) if request.raw_body else {}
    image = composition.multipart_service().complete(
        image_id, body.get("parts"), viewer=context.viewer(request), delete_token=_delete_token(request)
    )
    return json_response({"id": image.id, "status": image.status, "image_url": f"/api/v1/images/{image.id}"})


@large_uploads_api.route("/api/v1/images/{image_id}/multipart", methods=["DELETE"])
@handles_errors
def abort_multipart_upload(image_id: str) -> Response:
    request = large_uploads_api.current_request
    composition.multipart_service().abort(image_id, viewer=context.viewer(request), delete_token=_delete_token(request))
    return Response(body="", status_code=204)


_DELETE_TOKEN_HEADER = {
    "name": "X-Delete-Token",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "Anonymous uploads: the delete token handed out at creation",
}
_ID = {"name": "image_id", "in": "path", "required": True, "schema": {"type": "string"}}
_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}]
_PARAMS = [_ID, _DELETE_TOKEN_HEADER]
_PART_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "part_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer"},
            "etag": {"type": "string"},
            "sha256_b64": {"type": ["string", "null"]},
        },
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "MultipartRequest": {
        "type": "object",
        "required": ["filename", "content_type", "size"],
        "properties": {
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer", "minimum": 1},
            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "Whole file, hex"},
            "visibility": {"type": "string", "enum": ["public", "unlisted", "private"]},
        },
    },
    "MultipartTicket": {
        "type": "object",
        "required": ["id", "status", "upload_id", "part_size", "part_count", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "const": "pending"},
            "upload_id": {"type": "string"},
            "part_size": {"type": "integer"},
            "part_count": {"type": "integer"},
            "expires_at": {"type": "integer"},
            "delete_token": {"type": ["string", "null"]},
            "image_url": {"type": "string"},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/images/multipart": {
        "post": {
            "summary": "Open an S3 multipart upload for a large file (parts go straight to the bucket)",
            "security": _SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("MultipartRequest")}}},
            "responses": {"201": _json(_ref("MultipartTicket"), "Upload opened"), **_errors(400, 401, 403, 413, 429)},
        }
    },
    "/api/v1/images/{image_id}/multipart/parts": {
        "post": {
            "summary": "Presigned UploadPart URLs, each bound to its part's SHA-256 (sha256_b64, required)",
            "security": _SECURITY,
            "parameters": _PARAMS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["parts"],
                            "properties": {"parts": _PART_LIST},
                        }
                    }
                },
            },
            "responses": {"200": _json({"type": "object"}, "Signed parts"), **_errors(400, 401, 403, 404, 409)},
        },
        "get": {
            "summary": "The upload's plan and the parts the store already holds (to resume)",
            "security": _SECURITY,
            "parameters": _PARAMS,
            "responses": {
                "200": _json({"type": "object", "properties": {"parts": _PART_LIST}}, "Parts"),
                **_errors(401, 403, 404, 409),
            },
        },
    },
    "/api/v1/images/{image_id}/multipart/complete": {
        "post": {
            "summary": "Join the parts (every planned part must be stored with its planned size)",
            "security": _SECURITY,
            "parameters": _PARAMS,
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": {"type": "object", "properties": {"parts": _PART_LIST}}}},
            },
            "responses": {
                "200": _json({"type": "object"}, "Completed; processing"),
                **_errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/api/v1/images/{image_id}/multipart": {
        "delete": {
            "summary": "Abort: drop every part and the pending record (idempotent)",
            "security": _SECURITY,
            "parameters": _PARAMS,
            "responses": {"204": {"description": "Aborted"}, **_errors(401, 403, 409)},
        }
    },
}
