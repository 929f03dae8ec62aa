"""Account routes: ``/api/v1/auth/*`` and ``/api/v1/users/me/images``. Thin views over ``UserService``.

``/auth/token`` is the OAuth2 password grant's shape (form-encoded ``username``/``password``, answer
``{access_token, token_type}``) so OAuth2 tooling (Swagger UI's "Authorize", httpie plugins) can sign in;
``/auth/login`` is the same thing in JSON. Every route reads the viewer first, so a malformed bearer token is
a 401 here too, never ignored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from chalicelib import composition
from chalicelib.api import bodies, context
from chalicelib.api.openapi import _errors, _json, _ref
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.auth.store import User
from chalicelib.auth.tokens import IssuedToken
from chalicelib.errors import RequestTooLarge, ValidationFailed
from chalicelib.services.users import describe_user

auth_api = Blueprint(__name__)

MAX_FORM_BYTES = 8 * 1024


def _form() -> dict[str, str]:
    raw = bodies.raw_bytes(auth_api.current_request)
    if len(raw) > MAX_FORM_BYTES:
        raise RequestTooLarge(max_bytes=MAX_FORM_BYTES)
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("The form could not be parsed.") from exc
    return {name: values[0] for name, values in parsed.items() if values}


def _token_body(token: IssuedToken) -> dict[str, Any]:
    return {"access_token": token.access_token, "token_type": token.token_type, "expires_in": token.expires_in}


def _signed_in(user: User, token: IssuedToken, status: int = 200) -> Response:
    return json_response({"user": describe_user(user), **_token_body(token)}, status=status)


@auth_api.route("/api/v1/auth/register", methods=["POST"], content_types=["application/json"])
@handles_errors
def register() -> Response:
    viewer = context.viewer(auth_api.current_request)
    body = bodies.json_object(auth_api.current_request)
    user, token = composition.user_service().register(
        email=body.get("email"), password=body.get("password"), source_ip=viewer.source_ip or "unknown"
    )
    return _signed_in(user, token, status=201)


@auth_api.route("/api/v1/auth/login", methods=["POST"], content_types=["application/json"])
@handles_errors
def login() -> Response:
    viewer = context.viewer(auth_api.current_request)
    body = bodies.json_object(auth_api.current_request)
    user, token = composition.user_service().login(
        email=body.get("email"), password=body.get("password"), source_ip=viewer.source_ip or "unknown"
    )
    return _signed_in(user, token)


@auth_api.route("/api/v1/auth/token", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@handles_errors
def token() -> Response:
    viewer = context.viewer(auth_api.current_request)
    form = _form()
    _, issued = composition.user_service().login(
        email=form.get("username"), password=form.get("password"), source_ip=viewer.source_ip or "unknown"
    )
    return json_response(_token_body(issued))


@auth_api.route("/api/v1/auth/me", methods=["GET"])
@handles_errors
def me() -> Response:
    caller = context.require_principal(auth_api.current_request)
    return json_response(composition.user_service().profile(caller))


@auth_api.route("/api/v1/auth/password-reset", methods=["POST"], content_types=["application/json"])
@handles_errors
def password_reset() -> Response:
    viewer = context.viewer(auth_api.current_request)
    body = bodies.json_object(auth_api.current_request)
    composition.user_service().request_password_reset(email=body.get("email"), source_ip=viewer.source_ip or "unknown")
    return json_response(
        {"message": "If that address is registered, a link to reset the password is on its way."}, status=202
    )


@auth_api.route("/api/v1/auth/password-reset/confirm", methods=["POST"], content_types=["application/json"])
@handles_errors
def password_reset_confirm() -> Response:
    context.viewer(auth_api.current_request)
    body = bodies.json_object(auth_api.current_request)
    composition.user_service().confirm_password_reset(token=body.get("token"), new_password=body.get("new_password"))
    return json_response({"message": "The password has been changed. Sign in with the new one."})


@auth_api.route("/api/v1/users/me/images", methods=["GET"])
@handles_errors
def my_images() -> Response:
    request = auth_api.current_request
    viewer = context.require_user(request)
    page = composition.image_service().owned_by(
        viewer.user_id or "",
        limit=bodies.query(request, "limit"),
        cursor=bodies.query(request, "cursor"),
    )
    service = composition.image_service()
    items = [service.describe_for(image, viewer) for image in page.items]
    return json_response({"items": items, "next_cursor": page.next_cursor})


# --- OpenAPI: these routes' part of the published document (chalicelib.api.docs merges it in) -----------------

_PASSWORD = {"type": "string", "minLength": 8, "description": "8 characters to 72 bytes (UTF-8)"}
_CREDENTIALS = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {"email": {"type": "string", "format": "email"}, "password": _PASSWORD},
}
_ACCEPTED = {"type": "object", "properties": {"message": {"type": "string"}}}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _body(schema: dict[str, Any], content_type: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {content_type: {"schema": schema}}}


OPENAPI_SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": ["id", "email", "created_at", "provider"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "provider": {"type": "string", "enum": ["local", "oidc"]},
        },
    },
    "AccessToken": {
        "type": "object",
        "required": ["access_token", "token_type"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "const": "bearer"},
            "expires_in": {"type": "integer", "description": "Seconds"},
        },
    },
    "SignedIn": {
        "allOf": [
            _ref("AccessToken"),
            {"type": "object", "required": ["user"], "properties": {"user": _ref("User")}},
        ]
    },
    "Profile": {
        "type": "object",
        "required": ["id", "provider", "usage", "quota"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "provider": {"type": "string", "enum": ["local", "oidc"]},
            "created_at": {"type": ["string", "null"]},
            "usage": {
                "type": "object",
                "properties": {"image_count": {"type": "integer"}, "bytes_used": {"type": "integer"}},
            },
            "quota": {
                "type": "object",
                "properties": {"max_images": {"type": ["integer", "null"]}, "max_bytes": {"type": ["integer", "null"]}},
            },
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/auth/register": {
        "post": {
            "summary": "Create a local account (email lower-cased, unique) and sign in",
            "requestBody": _body(_CREDENTIALS),
            "responses": {"201": _json(_ref("SignedIn"), "Registered"), **_errors(400, 401, 409, 429)},
        }
    },
    "/api/v1/auth/login": {
        "post": {
            "summary": "Sign in with email and password (JSON)",
            "requestBody": _body(_CREDENTIALS),
            "responses": {"200": _json(_ref("SignedIn"), "Signed in"), **_errors(400, 401, 403, 429)},
        }
    },
    "/api/v1/auth/token": {
        "post": {
            "summary": "OAuth2 password grant: form fields username (the email) and password",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "const": "password"},
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                    },
                },
                "application/x-www-form-urlencoded",
            ),
            "responses": {"200": _json(_ref("AccessToken"), "Signed in"), **_errors(400, 401, 403, 429)},
        }
    },
    "/api/v1/auth/me": {
        "get": {
            "summary": "The signed-in user, usage and quota",
            "security": _BEARER,
            "responses": {"200": _json(_ref("Profile"), "Who am I"), **_errors(401)},
        }
    },
    "/api/v1/auth/password-reset": {
        "post": {
            "summary": "Mail a single-use reset link if the address is registered (always 202)",
            "requestBody": _body(
                {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}
            ),
            "responses": {"202": _json(_ACCEPTED, "Accepted"), **_errors(400, 401, 429)},
        }
    },
    "/api/v1/auth/password-reset/confirm": {
        "post": {
            "summary": "Set a new password with a reset token",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["token", "new_password"],
                    "properties": {"token": {"type": "string"}, "new_password": _PASSWORD},
                }
            ),
            "responses": {"200": _json(_ACCEPTED, "Password changed"), **_errors(400, 401)},
        }
    },
    "/api/v1/users/me/images": {
        "get": {
            "summary": "My images (every visibility and status), newest first",
            "security": _BEARER,
            "parameters": [
                {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {"200": _json(_ref("ImagePage"), "A page"), **_errors(400, 401)},
        }
    },
}
