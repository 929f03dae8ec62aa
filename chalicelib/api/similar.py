"""``GET /api/v1/users/me/images/{image_id}/similar``: the caller's own images that look like one of theirs."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context, presenters
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.services import similar
from chalicelib.settings import Settings

similar_api = Blueprint(__name__)


@similar_api.route("/api/v1/users/me/images/{image_id}/similar", methods=["GET"])
@handles_errors
def similar_images(image_id: str) -> Response:
    request = similar_api.current_request
    viewer = context.require_user(request)
    found = composition.similarity_service().similar(
        image_id, owner=viewer.user_id or "", max_distance=bodies.query(request, "max_distance")
    )
    images = composition.image_service()
    items = [
        {**presenters.describe_for(m.image, viewer, images.owner_links(m.image, viewer)), "distance": m.distance}
        for m in found.matches
    ]
    return json_response(
        {"image_id": found.image.id, "max_distance": found.max_distance, "compared": found.compared, "items": items}
    )


def openapi_section(settings: Settings) -> oa.Section:
    match = {"allOf": [oa.ref("Image"), oa.object_schema({"distance": {"type": "integer", "minimum": 0}})]}
    body = oa.object_schema(
        {
            "image_id": {"type": "string"},
            "max_distance": {"type": "integer"},
            "compared": {"type": "integer", "description": "How many of your images were compared"},
            "items": {"type": "array", "items": oa.ref("SimilarImage"), "maxItems": similar.MAX_RESULTS},
        },
        required=["image_id", "max_distance", "compared", "items"],
    )
    max_distance = {"type": "integer", "minimum": 0, "maximum": similar.MAX_DISTANCE_LIMIT}
    return oa.Section(
        paths={
            "/api/v1/users/me/images/{image_id}/similar": {
                "parameters": [oa.path_param("image_id")],
                "get": {
                    "summary": "My images that look like this one of mine (perceptual hash within a Hamming "
                    f"distance; nearest first; at most {similar.MAX_RESULTS}, from my newest "
                    f"{similar.COMPARED_IMAGES} images). Never anyone else's: another user's id answers 404",
                    "security": oa.BEARER,
                    "parameters": [
                        oa.query_param(
                            "max_distance",
                            {**max_distance, "default": similar.SIMILAR_DISTANCE},
                            "Bits (of 64) that may differ",
                        )
                    ],
                    "responses": {
                        "200": oa.json_response(body, "Similar images"),
                        **oa.error_responses(400, 401, 403, 404),
                    },
                },
            }
        },
        schemas={"SimilarImage": match},
    )
