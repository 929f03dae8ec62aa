"""Image routes: thin views over ``ImageService`` (``/api/v1/images...``)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context, presenters
from chalicelib.api import openapi as oa
from chalicelib.api.multipart import parse_upload
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.records import PENDING, READY, REJECTED, Page
from chalicelib.settings import Settings, get_settings

images_api = Blueprint(__name__)

# Requests presenting a delete token, per source address a minute (honest bulk deletes stay well under it).


def _redirect(url: str) -> Response:
    """302 to a presigned GET. Every presign is a new URL, so without caching a browser would download a
    gallery's thumbnails again on every visit. The browser alone (``private``) may keep the redirect for half
    the link's life: it then reuses one URL, and the object behind it is cached as immutable."""
    max_age = get_settings().download_url_expires_seconds // 2
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": f"private, max-age={max_age}"})


def _page_body(page: Page) -> dict[str, Any]:
    return presenters.page([presenters.describe(image) for image in page.items], page)


@images_api.route("/api/v1/images/upload-url", methods=["POST"], content_types=["application/json"])
@handles_errors
def create_upload_url() -> Response:
    viewer = context.viewer(images_api.current_request)
    body = bodies.json_object(images_api.current_request)
    context.count_upload(images_api.current_request)
    ticket = composition.image_service().request_upload(
        filename=body.get("filename"),
        content_type=body.get("content_type"),
        size=body.get("size"),
        viewer=viewer,
        visibility=body.get("visibility"),
        sha256=body.get("sha256"),
    )
    return json_response(presenters.upload_ticket(ticket), status=201)


@images_api.route("/api/v1/images/upload", methods=["POST"], content_types=["multipart/form-data"])
@handles_errors
def upload_image() -> Response:
    request = images_api.current_request
    viewer = context.viewer(request)
    context.count_upload(request)
    upload = parse_upload(
        bodies.raw_bytes(request),
        request.headers.get("content-type"),
        field="file",
        max_bytes=get_settings().api_upload_max_bytes,
    )
    image, token = composition.image_service().upload(
        data=upload.data, filename=upload.filename, viewer=viewer, visibility=upload.fields.get("visibility")
    )
    return json_response({**presenters.describe(image), "delete_token": token}, status=201)


@images_api.route("/api/v1/images", methods=["GET"])
@handles_errors
def gallery() -> Response:
    request = images_api.current_request
    page = composition.image_service().gallery(
        limit=bodies.query(request, "limit"), cursor=bodies.query(request, "cursor")
    )
    return json_response(_page_body(page))


@images_api.route("/api/v1/images/{image_id}", methods=["GET"])
@handles_errors
def get_image(image_id: str) -> Response:
    viewer = context.viewer(images_api.current_request)
    service = composition.image_service()
    image, cache_status = service.get(image_id, viewer)
    body = presenters.describe_for(image, viewer, service.owner_links(image, viewer))
    return json_response(body, headers={"X-Cache": cache_status})


@images_api.route("/api/v1/images/{image_id}/file", methods=["GET"])
@handles_errors
def get_file(image_id: str) -> Response:
    request = images_api.current_request
    original = bodies.query(request, "variant") == "original"
    return _redirect(composition.image_service().file_url(image_id, context.viewer(request), original=original))


@images_api.route("/api/v1/images/{image_id}/thumbnail", methods=["GET"])
@handles_errors
def get_thumbnail(image_id: str) -> Response:
    request = images_api.current_request
    size = bodies.query(request, "size")
    return _redirect(composition.image_service().thumbnail_url(image_id, size, context.viewer(request)))


@images_api.route("/api/v1/images/{image_id}", methods=["DELETE"])
@handles_errors
def delete_image(image_id: str) -> Response:
    request = images_api.current_request
    token = context.delete_token(request)
    composition.image_service().delete(image_id, viewer=context.viewer(request), delete_token=token)
    return Response(body="", status_code=204)


@images_api.route("/api/v1/images/{image_id}", methods=["PATCH"], content_types=["application/json"])
@handles_errors
def update_image(image_id: str) -> Response:
    """Change an image's visibility (owner only): ``{"visibility": "public" | "unlisted" | "private"}``."""
    viewer = context.require_user(images_api.current_request)
    body = bodies.json_object(images_api.current_request)
    image = composition.image_service().set_visibility(image_id, viewer=viewer, visibility=body.get("visibility"))
    return json_response(presenters.describe(image))


# --- OpenAPI: these routes' part of the published document (chalicelib.api.docs assembles it) ---------------


def openapi_section(settings: Settings) -> oa.Section:
    image_id = [oa.path_param("image_id")]
    return oa.Section(paths=_paths(settings, image_id), schemas=_schemas(settings))


def _paths(settings: Settings, image_id: list[oa.Json]) -> oa.Json:
    return {
        "/api/v1/images/upload-url": {
            "post": {
                "summary": "Create a pending image and a presigned POST to upload it straight to the bucket",
                "security": oa.OPTIONAL_BEARER,
                "requestBody": oa.json_body(oa.ref("UploadUrlRequest")),
                "responses": {
                    "201": oa.json_response(oa.ref("UploadTicket"), "Upload form"),
                    **oa.error_responses(400, 401, 403, 413, 415, 429),
                },
            }
        },
        "/api/v1/images/upload": {
            "post": {
                "summary": "Upload a small image through the API (multipart field `file`); processed at once",
                "security": oa.OPTIONAL_BEARER,
                "requestBody": oa.json_body(
                    oa.object_schema(
                        {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": f"At most {settings.api_upload_max_bytes} bytes",
                            },
                            "visibility": oa.visibility_schema(),
                        },
                        required=["file"],
                    ),
                    "multipart/form-data",
                ),
                "responses": {
                    "201": oa.json_response(oa.ref("UploadedImage"), "Stored and ready"),
                    **oa.error_responses(400, 401, 403, 413, 429),
                },
            }
        },
        "/api/v1/images": {
            "get": {
                "summary": "Public gallery, newest first",
                "parameters": oa.page_params(settings),
                "responses": {"200": oa.json_response(oa.ref("ImagePage"), "A page"), **oa.error_responses(400)},
            }
        },
        "/api/v1/images/{image_id}": {
            "parameters": image_id,
            "get": {
                "summary": "Image metadata (header X-Cache: HIT | MISS | DISABLED)",
                "security": oa.OPTIONAL_BEARER,
                "responses": {
                    "200": oa.json_response(
                        oa.ref("Image"),
                        "Metadata",
                        headers={"X-Cache": {"schema": {"type": "string", "enum": ["HIT", "MISS", "DISABLED"]}}},
                    ),
                    **oa.error_responses(401, 404),
                },
            },
            "patch": {
                "summary": "Change visibility (owner only)",
                "security": oa.BEARER,
                "requestBody": oa.json_body(
                    oa.object_schema({"visibility": oa.visibility_schema()}, required=["visibility"])
                ),
                "responses": {
                    "200": oa.json_response(oa.ref("Image"), "Updated"),
                    **oa.error_responses(400, 401, 403, 404),
                },
            },
            "delete": {
                "summary": "Delete: the owner's bearer token, or the delete token (X-Delete-Token or ?delete_token=)",
                "security": oa.OPTIONAL_BEARER,
                "parameters": [
                    oa.header_param("X-Delete-Token", {"type": "string"}),
                    oa.query_param("delete_token", {"type": "string"}, "Alternative to the header"),
                ],
                "responses": {"204": {"description": "Deleted"}, **oa.error_responses(401, 403, 404, 429)},
            },
        },
        "/api/v1/images/{image_id}/file": {
            "parameters": image_id,
            "get": {
                "summary": "The file people are shown: the display rendition for formats browsers cannot show "
                "(HEIC, AVIF), else the served file (location metadata removed)",
                "security": oa.OPTIONAL_BEARER,
                "parameters": [
                    oa.query_param(
                        "variant",
                        {"type": "string", "enum": ["original"]},
                        "original: the scrubbed original of an image with a display rendition (its owner only)",
                    )
                ],
                "responses": {"302": oa.redirect_response(), **oa.error_responses(401, 403, 404)},
            },
        },
        "/api/v1/images/{image_id}/thumbnail": {
            "parameters": image_id,
            "get": {
                "summary": "A thumbnail (404 THUMBNAIL_NOT_READY until processed)",
                "security": oa.OPTIONAL_BEARER,
                "parameters": [oa.thumbnail_size_param()],
                "responses": {"302": oa.redirect_response(), **oa.error_responses(400, 401, 404)},
            },
        },
    }


def _schemas(settings: Settings) -> oa.Json:
    nullable_string = {"type": ["string", "null"]}
    return {
        "Image": oa.object_schema(
            {
                "id": {"type": "string"},
                "filename": {"type": "string"},
                "content_type": {"type": "string"},
                "file_size": {"type": "integer"},
                "width": {"type": ["integer", "null"]},
                "height": {"type": ["integer", "null"]},
                "status": {"type": "string", "enum": [PENDING, READY, REJECTED]},
                "visibility": oa.visibility_schema(),
                "created_at": {"type": "string", "format": "date-time"},
                "url": nullable_string,
                "thumbnail_ready": {"type": "boolean"},
                "thumbnail_url": nullable_string,
                "thumbnails": oa.thumbnails_schema(),
                "sha256": {
                    **nullable_string,
                    "description": "SHA-256 (hex) of the file we serve, with location metadata removed; not of "
                    "the bytes uploaded, so it cannot confirm a location-bearing original",
                },
                "has_display": {
                    "type": "boolean",
                    "description": "`url` serves a display rendition (JPEG or WebP): browsers cannot show the format",
                },
                "original_url": {"type": "string", "description": "With a display rendition: the scrubbed original"},
                "blurhash": {
                    **nullable_string,
                    "description": "BlurHash placeholder to paint while a rendition loads (null before processing "
                    "and on images from before placeholders)",
                },
                "reject_reason": {"type": "string"},
                "is_owner": {"type": "boolean", "description": "Whether the bearer of the request owns the image"},
                "duplicate_of": {
                    "type": "string",
                    "description": "Owner only: the id of the owner's earlier image with exactly the same bytes",
                },
                "short_id": {**nullable_string, "description": "The image's name in public URLs (11 characters)"},
                "links": {
                    "type": "object",
                    "description": "Stable absolute URLs on the public origin: page always; direct, thumbnails and "
                    "display while the image is public or unlisted and ready",
                    "properties": {
                        "page": {"type": "string", "format": "uri"},
                        "direct": {"type": "string", "format": "uri"},
                        "thumbnails": {
                            **oa.thumbnails_schema(),
                            "additionalProperties": {"type": "string", "format": "uri"},
                        },
                        "display": {"type": "string", "format": "uri"},
                        "thumbnail_sources": {
                            **oa.thumbnail_sources_schema(),
                            "description": "Each thumbnail in every encoding stored (for <picture>/<source> "
                            "elements): by size, then extension",
                        },
                    },
                },
                "owner_links": {
                    "type": "object",
                    "description": "Owner only: short-lived presigned URLs (an <img> cannot send a bearer token)",
                    "properties": {
                        "file": {"type": "string", "format": "uri"},
                        "display": {"type": "string", "format": "uri", "description": "HEIC/AVIF: what to show"},
                        "thumbnails": {
                            **oa.thumbnails_schema(),
                            "additionalProperties": {"type": "string", "format": "uri"},
                        },
                        "expires_in": {"type": "integer"},
                    },
                },
            },
            required=["id", "filename", "content_type", "file_size", "status", "visibility", "created_at"],
        ),
        "UploadedImage": {
            "allOf": [
                oa.ref("Image"),
                oa.object_schema({"delete_token": {**nullable_string, "description": "Shown once"}}),
            ]
        },
        "ImagePage": oa.object_schema(
            {"items": {"type": "array", "items": oa.ref("Image")}, "next_cursor": nullable_string},
            required=["items", "next_cursor"],
        ),
        "UploadUrlRequest": oa.object_schema(
            {
                "filename": {"type": "string"},
                "content_type": oa.content_type_schema(),
                "size": oa.upload_size_schema(settings),
                "visibility": oa.visibility_schema(),
                "sha256": {
                    "type": "string",
                    "pattern": "^[0-9a-fA-F]{64}$",
                    "description": "The file's SHA-256 (hex); bound into the form, so the store refuses other bytes",
                },
            },
            required=["filename", "content_type", "size"],
        ),
        "UploadTicket": oa.object_schema(
            {
                "id": {"type": "string"},
                "status": {"type": "string", "const": PENDING},
                "upload": oa.object_schema(
                    {
                        "url": {"type": "string", "format": "uri"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    }
                ),
                "expires_at": {"type": "integer", "description": "Epoch seconds when the form stops working"},
                "delete_token": {**nullable_string, "description": "Shown once; null for owned uploads"},
                "image_url": {"type": "string"},
            },
            required=["id", "status", "upload", "expires_at"],
        ),
    }
