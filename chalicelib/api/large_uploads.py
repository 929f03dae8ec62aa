"""Multipart upload routes for large files (``/api/v1/images/multipart`` and ``/{id}/multipart/...``).

The contract (consumers: the web front end, the CLI) is documented in docs/multipart-uploads.md and in the
OpenAPI document. The {id} routes take the owner's bearer token or, for anonymous uploads, ``X-Delete-Token``.
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context, presenters
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.settings import Settings
from chalicelib.storage import StoredPart

large_uploads_api = Blueprint(__name__)


def describe_parts(parts: list[StoredPart]) -> list[dict[str, object]]:
    return [{"part_number": p.part_number, "size": p.size, "etag": p.etag, "sha256_b64": p.sha256_b64} for p in parts]


@large_uploads_api.route("/api/v1/images/multipart", methods=["POST"], content_types=["application/json"])
@handles_errors
def create_multipart_upload() -> Response:
    request = large_uploads_api.current_request
    viewer = context.viewer(request)
    body = bodies.json_object(request)
    context.count_upload(request)
    ticket = composition.multipart_service().create(
        filename=body.get("filename"),
        content_type=body.get("content_type"),
        size=body.get("size"),
        viewer=viewer,
        visibility=body.get("visibility"),
        sha256=body.get("sha256"),
    )
    return json_response(presenters.multipart_ticket(ticket), status=201)


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
        delete_token=context.delete_token(request),
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
        image_id, viewer=context.viewer(request), delete_token=context.delete_token(request)
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
        image_id, body.get("parts"), viewer=context.viewer(request), delete_token=context.delete_token(request)
    )
    return json_response({"id": image.id, "status": image.status, "image_url": f"/api/v1/images/{image.id}"})


@large_uploads_api.route("/api/v1/images/{image_id}/multipart", methods=["DELETE"])
@handles_errors
def abort_multipart_upload(image_id: str) -> Response:
    request = large_uploads_api.current_request
    composition.multipart_service().abort(
        image_id, viewer=context.viewer(request), delete_token=context.delete_token(request)
    )
    return Response(body="", status_code=204)


def sha256_hex_schema() -> oa.Json:
    return {
        "type": "string",
        "pattern": "^[0-9a-fA-F]{64}$",
        "description": "The whole file's SHA-256 (hex): the store refuses other bytes, the processor re-checks",
    }


def openapi_section(settings: Settings) -> oa.Section:
    params = [
        oa.path_param("image_id"),
        oa.header_param("X-Delete-Token", {"type": "string"}, "Anonymous uploads: the token handed out at creation"),
    ]
    part = oa.object_schema(
        {
            "part_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer"},
            "etag": {"type": "string"},
            "sha256_b64": {"type": ["string", "null"], "description": "base64 of the part's SHA-256"},
        }
    )
    parts = {"type": "array", "items": part}
    paths = {
        "/api/v1/images/multipart": {
            "post": {
                "summary": "Open an S3 multipart upload for a large file (parts go straight to the bucket)",
                "security": oa.OPTIONAL_BEARER,
                "requestBody": oa.json_body(oa.ref("MultipartRequest")),
                "responses": {
                    "201": oa.json_response(oa.ref("MultipartTicket"), "Upload opened"),
                    **oa.error_responses(400, 401, 403, 413, 429),
                },
            }
        },
        "/api/v1/images/{image_id}/multipart/parts": {
            "parameters": params,
            "post": {
                "summary": "Presigned UploadPart URLs, each bound to its part's SHA-256 (sha256_b64, required)",
                "security": oa.OPTIONAL_BEARER,
                "requestBody": oa.json_body(oa.object_schema({"parts": parts}, required=["parts"])),
                "responses": {
                    "200": oa.json_response(
                        oa.object_schema({"parts": parts, "expires_at": {"type": "integer"}}), "Signed"
                    ),
                    **oa.error_responses(400, 401, 403, 404, 409, 429),
                },
            },
            "get": {
                "summary": "The upload's plan and the parts the store already holds (to resume)",
                "security": oa.OPTIONAL_BEARER,
                "responses": {
                    "200": oa.json_response(
                        oa.object_schema({"parts": parts, "part_size": {"type": "integer"}}), "Parts"
                    ),
                    **oa.error_responses(401, 403, 404, 409, 429),
                },
            },
        },
        "/api/v1/images/{image_id}/multipart/complete": {
            "parameters": params,
            "post": {
                "summary": "Join the parts (every planned part must be stored with its planned size)",
                "security": oa.OPTIONAL_BEARER,
                "requestBody": {**oa.json_body(oa.object_schema({"parts": parts})), "required": False},
                "responses": {
                    "200": oa.json_response(oa.object_schema({"id": {"type": "string"}}), "Completed; processing"),
                    **oa.error_responses(400, 401, 403, 404, 409, 429),
                },
            },
        },
        "/api/v1/images/{image_id}/multipart": {
            "parameters": params,
            "delete": {
                "summary": "Abort: drop every part and the pending record (idempotent)",
                "security": oa.OPTIONAL_BEARER,
                "responses": {"204": {"description": "Aborted"}, **oa.error_responses(401, 403, 409, 429)},
            },
        },
    }
    schemas = {
        "MultipartRequest": oa.object_schema(
            {
                "filename": {"type": "string"},
                "content_type": oa.content_type_schema(),
                "size": oa.upload_size_schema(settings),
                "sha256": sha256_hex_schema(),
                "visibility": oa.visibility_schema(),
            },
            required=["filename", "content_type", "size"],
        ),
        "MultipartTicket": oa.object_schema(
            {
                "id": {"type": "string"},
                "status": {"type": "string", "const": "pending"},
                "upload_id": {"type": "string"},
                "part_size": {"type": "integer", "description": "Every part but the last has exactly this size"},
                "part_count": {"type": "integer"},
                "expires_at": {"type": "integer"},
                "delete_token": {"type": ["string", "null"]},
                "image_url": {"type": "string"},
            },
            required=["id", "status", "upload_id", "part_size", "part_count", "expires_at"],
        ),
    }
    return oa.Section(paths=paths, schemas=schemas)
