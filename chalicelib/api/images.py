"""Image routes: thin views over ``ImageService`` (``/api/v1/images...``)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context
from chalicelib.api.multipart import parse_upload
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.records import Page
from chalicelib.services.images import describe
from chalicelib.settings import get_settings

images_api = Blueprint(__name__)


def _check_upload_rate(source_ip: str) -> None:
    settings = get_settings()
    composition.rate_limiter().hit("uploads", source_ip, settings.rate_limit_uploads_per_minute, 60)


def _redirect(url: str) -> Response:
    """302 to a presigned GET. Every presign is a new URL, so without caching a browser would download a
    gallery's thumbnails again on every visit. The browser alone (``private``) may keep the redirect for half
    the link's life: it then reuses one URL, and the object behind it is cached as immutable."""
    max_age = get_settings().download_url_expires_seconds // 2
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": f"private, max-age={max_age}"})


def _page_body(page: Page) -> dict[str, Any]:
    return {"items": [describe(image) for image in page.items], "next_cursor": page.next_cursor}


@images_api.route("/api/v1/images/upload-url", methods=["POST"], content_types=["application/json"])
@handles_errors
def create_upload_url() -> Response:
    viewer = context.viewer(images_api.current_request)
    body = bodies.json_object(images_api.current_request)
    _check_upload_rate(viewer.source_ip or "unknown")
    ticket = composition.image_service().request_upload(
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
            "upload": {"url": ticket.url, "fields": ticket.fields},
            "expires_at": ticket.expires_at,
            "delete_token": ticket.delete_token,
            "image_url": f"/api/v1/images/{ticket.image.id}",
        },
        status=201,
    )


@images_api.route("/api/v1/images/upload", methods=["POST"], content_types=["multipart/form-data"])
@handles_errors
def upload_image() -> Response:
    request = images_api.current_request
    viewer = context.viewer(request)
    _check_upload_rate(viewer.source_ip or "unknown")
    upload = parse_upload(
        bodies.raw_bytes(request),
        request.headers.get("content-type"),
        field="file",
        max_bytes=get_settings().api_upload_max_bytes,
    )
    image, token = composition.image_service().upload(
        data=upload.data, filename=upload.filename, viewer=viewer, visibility=upload.fields.get("visibility")
    )
    return json_response({**describe(image), "delete_token": token}, status=201)


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
    return json_response(service.describe_for(image, viewer), headers={"X-Cache": cache_status})


@images_api.route("/api/v1/images/{image_id}/file", methods=["GET"])
@handles_errors
def get_file(image_id: str) -> Response:
    viewer = context.viewer(images_api.current_request)
    return _redirect(composition.image_service().file_url(image_id, viewer))


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
    token = request.headers.get("x-delete-token") or bodies.query(request, "delete_token")
    composition.image_service().delete(image_id, viewer=context.viewer(request), delete_token=token)
    return Response(body="", status_code=204)


@images_api.route("/api/v1/images/{image_id}", methods=["PATCH"], content_types=["application/json"])
@handles_errors
def update_image(image_id: str) -> Response:
    """Change an image's visibility (owner only): ``{"visibility": "public" | "unlisted" | "private"}``."""
    viewer = context.require_user(images_api.current_request)
    body = bodies.json_object(images_api.current_request)
    image = composition.image_service().set_visibility(image_id, viewer=viewer, visibility=body.get("visibility"))
    return json_response(describe(image))
