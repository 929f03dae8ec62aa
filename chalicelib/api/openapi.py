"""The OpenAPI 3.1 document of the whole HTTP API, built once from small pieces.

A test (tests/functional/test_openapi.py) checks that every route the app registers is documented with the
same methods, and that nothing is documented that the app does not serve.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ErrorCode

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid request",
        401: "Missing, invalid or expired bearer token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        415: "Unsupported media type",
        429: "Rate limited (see Retry-After)",
        503: "A backing service is unavailable (see Retry-After)",
    }
    return {str(status): _json(_ref("Error"), text[status]) for status in (*statuses, 503)}


def _path_id() -> dict[str, Any]:
    return {"name": "image_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_PAGE_PARAMS = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Items per page"),
    _query("cursor", {"type": "string"}, "The next_cursor of the previous page"),
]
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]
_REDIRECT = {
    "description": "Redirect to a short-lived presigned URL",
    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "enum": sorted(str(code) for code in ErrorCode)},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    },
    "Image": {
        "type": "object",
        "required": ["id", "filename", "content_type", "file_size", "status", "visibility", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "file_size": {"type": "integer"},
            "width": {"type": ["integer", "null"]},
            "height": {"type": ["integer", "null"]},
            "status": {"type": "string", "enum": ["pending", "ready", "rejected"]},
            "visibility": {"type": "string", "enum": ["public", "unlisted", "private"]},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": ["string", "null"]},
            "thumbnail_ready": {"type": "boolean"},
            "thumbnail_url": {"type": ["string", "null"]},
            "thumbnails": {"type": "object", "additionalProperties": {"type": "string"}},
            "sha256": {"type": ["string", "null"]},
            "reject_reason": {"type": "string"},
            "is_owner": {"type": "boolean", "description": "Whether the bearer of the request owns the image"},
            "duplicate_of": {
                "type": "string",
                "description": "Owner only: the id of the owner's earlier image with exactly the same bytes",
            },
            "owner_links": {
                "type": "object",
                "description": "Owner only: short-lived presigned URLs (an <img> cannot send a bearer token)",
                "properties": {
                    "file": {"type": "string", "format": "uri"},
                    "thumbnails": {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
                    "expires_in": {"type": "integer"},
                },
            },
        },
    },
    "UploadedImage": {
        "allOf": [
            _ref("Image"),
            {
                "type": "object",
                "properties": {"delete_token": {"type": ["string", "null"], "description": "Shown once"}},
            },
        ]
    },
    "ImagePage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": _ref("Image")}, "next_cursor": {"type": ["string", "null"]}},
    },
    "UploadUrlRequest": {
        "type": "object",
        "required": ["filename", "content_type", "size"],
        "properties": {
            "filename": {"type": "string"},
            "content_type": {
                "type": "string",
                "enum": ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"],
            },
            "size": {"type": "integer", "minimum": 1},
            "visibility": {"type": "string", "enum": ["public", "unlisted", "private"]},
        },
    },
    "UploadTicket": {
        "type": "object",
        "required": ["id", "status", "upload", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "const": "pending"},
            "upload": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "expires_at": {"type": "integer", "description": "Epoch seconds when the form stops working"},
            "delete_token": {"type": ["string", "null"], "description": "Shown once; null for owned uploads"},
            "image_url": {"type": "string"},
        },
    },
    "Health": {
        "type": "object",
        "properties": {"status": {"type": "string"}, "stage": {"type": "string"}, "checks": {"type": "object"}},
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness: cheap, calls no dependency, shows nothing of the inside",
            "responses": {"200": _json({"type": "object", "properties": {"status": {"type": "string"}}}, "Alive")},
        }
    },
    "/health/details": {
        "get": {
            "summary": "Operator view (header X-Operator-Token): storage, metadata, queues, cache nodes, rate limiter",
            "parameters": [
                {"name": "X-Operator-Token", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": _json(_ref("Health"), "Serving"),
                "503": _json(_ref("Health"), "Degraded"),
                **_errors(401),
            },
        }
    },
    "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}},
    "/api/v1/images/upload-url": {
        "post": {
            "summary": "Create a pending image and a presigned POST to upload it straight to the bucket",
            "security": _OPTIONAL_BEARER,
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("UploadUrlRequest")}}},
            "responses": {"201": _json(_ref("UploadTicket"), "Upload form"), **_errors(400, 401, 403, 413, 415, 429)},
        }
    },
    "/api/v1/images/upload": {
        "post": {
            "summary": "Upload a small image through the API (multipart field `file`); processed at once",
            "security": _OPTIONAL_BEARER,
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "visibility": {"type": "string", "enum": ["public", "unlisted", "private"]},
                            },
                        }
                    }
                },
            },
            "responses": {"201": _json(_ref("UploadedImage"), "Stored and ready"), **_errors(400, 401, 403, 413, 429)},
        }
    },
    "/api/v1/images": {
        "get": {
            "summary": "Public gallery, newest first",
            "parameters": _PAGE_PARAMS,
            "responses": {"200": _json(_ref("ImagePage"), "A page"), **_errors(400)},
        }
    },
    "/api/v1/images/{image_id}": {
        "parameters": [_path_id()],
        "get": {
            "summary": "Image metadata (header X-Cache: HIT | MISS | DISABLED)",
            "security": _OPTIONAL_BEARER,
            "responses": {
                "200": {
                    **_json(_ref("Image"), "Metadata"),
                    "headers": {"X-Cache": {"schema": {"type": "string", "enum": ["HIT", "MISS", "DISABLED"]}}},
                },
                **_errors(401, 404),
            },
        },
        "patch": {
            "summary": "Change visibility (owner only)",
            "security": _BEARER,
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "required": ["visibility"],
                            "properties": {"visibility": {"type": "string", "enum": ["public", "unlisted", "private"]}},
                        }
                    }
                },
            },
            "responses": {"200": _json(_ref("Image"), "Updated"), **_errors(400, 401, 403, 404)},
        },
        "delete": {
            "summary": "Delete: the owner's bearer token, or the delete token (X-Delete-Token or ?delete_token=)",
            "security": _OPTIONAL_BEARER,
            "parameters": [
                {"name": "X-Delete-Token", "in": "header", "required": False, "schema": {"type": "string"}},
                _query("delete_token", {"type": "string"}, "Alternative to the header"),
            ],
            "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
        },
    },
    "/api/v1/images/{image_id}/file": {
        "parameters": [_path_id()],
        "get": {
            "summary": "The served file (location metadata removed)",
            "security": _OPTIONAL_BEARER,
            "responses": {"302": _REDIRECT, **_errors(401, 404)},
        },
    },
    "/api/v1/images/{image_id}/thumbnail": {
        "parameters": [_path_id()],
        "get": {
            "summary": "A thumbnail (404 THUMBNAIL_NOT_READY until processed)",
            "security": _OPTIONAL_BEARER,
            "parameters": [
                _query("size", {"type": "integer", "enum": [150, 300, 600], "default": 300}, "Longest side")
            ],
            "responses": {"302": _REDIRECT, **_errors(400, 401, 404)},
        },
    },
}


def _with_media_type_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a body can answer 415 (Chalice checks the Content-Type before our code)."""
    unsupported = _errors(415)["415"]
    return {
        path: {
            method: {**operation, "responses": {"415": unsupported, **operation["responses"]}}
            if isinstance(operation, dict) and "requestBody" in operation
            else operation
            for method, operation in operations.items()
        }
        for path, operations in paths.items()
    }


def build_document(
    extra_paths: dict[str, Any] | None = None, extra_schemas: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chitram Serverless",
            "version": "1.0.0",
            "description": "Image hosting on S3, SQS, DynamoDB and Lambda. Every error has the shape "
            '{"detail": {"code", "message", "details"}}.',
        },
        "paths": _with_media_type_errors({**PATHS, **(extra_paths or {})}),
        "components": {
            "schemas": {**SCHEMAS, **(extra_schemas or {})},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
