"""Personal API token routes: ``/api/v1/users/me/tokens``. A signed-in session only, never an API token."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.auth.api_tokens import MAX_EXPIRY_DAYS, MAX_NAME_CHARS, SCOPES, describe_token
from chalicelib.settings import Settings

tokens_api = Blueprint(__name__)


@tokens_api.route("/api/v1/users/me/tokens", methods=["POST"], content_types=["application/json"])
@handles_errors
def create_token() -> Response:
    caller = context.require_session(tokens_api.current_request)
    body = bodies.json_object(tokens_api.current_request)
    service = composition.api_token_service()
    issued = service.create(
        caller.user_id, name=body.get("name"), scope=body.get("scope"), expires_in_days=body.get("expires_in_days")
    )
    return json_response({**describe_token(issued.token, service.clock()), "token": issued.secret}, status=201)


@tokens_api.route("/api/v1/users/me/tokens", methods=["GET"])
@handles_errors
def list_tokens() -> Response:
    caller = context.require_session(tokens_api.current_request)
    service = composition.api_token_service()
    now = service.clock()
    return json_response({"items": [describe_token(token, now) for token in service.list_for(caller.user_id)]})


@tokens_api.route("/api/v1/users/me/tokens/{token_id}", methods=["DELETE"])
@handles_errors
def revoke_token(token_id: str) -> Response:
    caller = context.require_session(tokens_api.current_request)
    composition.api_token_service().revoke(caller.user_id, token_id)
    return Response(body="", status_code=204)


# --- OpenAPI: these routes' part of the published document (chalicelib.api.docs assembles it) -----------------


def openapi_section(settings: Settings) -> oa.Section:
    return oa.Section(paths=_paths(), schemas=_schemas())


def _schemas() -> oa.Json:
    moment = {"type": ["string", "null"], "format": "date-time"}
    return {
        "ApiToken": oa.object_schema(
            {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "scope": {"type": "string", "enum": list(SCOPES)},
                "created_at": {"type": "string", "format": "date-time"},
                "expires_at": moment,
                "expired": {"type": "boolean"},
                "last_used_at": {**moment, "description": "Recorded at most once a minute"},
            },
            required=["id", "name", "scope", "created_at", "expires_at", "expired", "last_used_at"],
        ),
        "NewApiToken": {
            "allOf": [
                oa.ref("ApiToken"),
                oa.object_schema(
                    {
                        "token": {
                            "type": "string",
                            "pattern": "^chi_",
                            "description": "The secret: shown this once; send it as 'Authorization: Bearer <token>'",
                        }
                    },
                    required=["token"],
                ),
            ]
        },
    }


def _paths() -> oa.Json:
    new_token = oa.object_schema(
        {
            "name": {"type": "string", "maxLength": MAX_NAME_CHARS},
            "scope": {
                "type": "string",
                "enum": list(SCOPES),
                "description": "upload: create uploads; read: list and read your images; "
                "full: both, plus delete and change visibility. No scope manages the account.",
            },
            "expires_in_days": {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRY_DAYS},
        },
        required=["name", "scope"],
    )
    listing = oa.object_schema({"items": {"type": "array", "items": oa.ref("ApiToken")}})
    return {
        "/api/v1/users/me/tokens": {
            "post": {
                "summary": "Create a personal API token (signed-in session only; the secret is shown once)",
                "security": oa.BEARER,
                "requestBody": oa.json_body(new_token),
                "responses": {
                    "201": oa.json_response(oa.ref("NewApiToken"), "Created"),
                    **oa.error_responses(400, 401, 403),
                },
            },
            "get": {
                "summary": "My personal API tokens (never their secrets), newest first",
                "security": oa.BEARER,
                "responses": {"200": oa.json_response(listing, "Tokens"), **oa.error_responses(401, 403)},
            },
        },
        "/api/v1/users/me/tokens/{token_id}": {
            "delete": {
                "summary": "Revoke a personal API token (it stops working at once)",
                "security": oa.BEARER,
                "parameters": [oa.path_param("token_id")],
                "responses": {"204": {"description": "Revoked"}, **oa.error_responses(401, 403, 404)},
            }
        },
    }
