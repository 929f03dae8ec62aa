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
from chalicelib.api import bodies, context, presenters
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.auth.store import User
from chalicelib.auth.tokens import IssuedToken
from chalicelib.errors import RequestTooLarge, ValidationFailed
from chalicelib.settings import Settings

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
    return json_response({"user": presenters.describe_user(user), **_token_body(token)}, status=status)


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
    profile = composition.user_service().profile(caller)
    if caller.api_token is not None:
        profile["api_token"] = {"id": caller.api_token.token_id, "scope": caller.api_token.scope}
    return json_response(profile)


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
    items = [presenters.describe_for(image, viewer, service.owner_links(image, viewer)) for image in page.items]
    return json_response(presenters.page(items, page))


# --- OpenAPI: these routes' part of the published document (chalicelib.api.docs assembles it) -----------------


def openapi_section(settings: Settings) -> oa.Section:
    return oa.Section(paths=_paths(settings), schemas=_schemas())


def _paths(settings: Settings) -> oa.Json:
    credentials = oa.object_schema(
        {"email": {"type": "string", "format": "email"}, "password": oa.password_schema()},
        required=["email", "password"],
    )
    accepted = oa.object_schema({"message": {"type": "string"}})
    return {
        "/api/v1/auth/register": {
            "post": {
                "summary": "Create a local account (email lower-cased, unique) and sign in",
                "requestBody": oa.json_body(credentials),
                "responses": {
                    "201": oa.json_response(oa.ref("SignedIn"), "Registered"),
                    **oa.error_responses(400, 401, 409, 429),
                },
            }
        },
        "/api/v1/auth/login": {
            "post": {
                "summary": "Sign in with email and password (JSON)",
                "requestBody": oa.json_body(credentials),
                "responses": {
                    "200": oa.json_response(oa.ref("SignedIn"), "Signed in"),
                    **oa.error_responses(400, 401, 403, 429),
                },
            }
        },
        "/api/v1/auth/token": {
            "post": {
                "summary": "OAuth2 password grant: form fields username (the email) and password",
                "requestBody": oa.json_body(
                    oa.object_schema(
                        {
                            "grant_type": {"type": "string", "const": "password"},
                            "username": {"type": "string"},
                            "password": {"type": "string"},
                        },
                        required=["username", "password"],
                    ),
                    "application/x-www-form-urlencoded",
                ),
                "responses": {
                    "200": oa.json_response(oa.ref("AccessToken"), "Signed in"),
                    **oa.error_responses(400, 401, 403, 429),
                },
            }
        },
        "/api/v1/auth/me": {
            "get": {
                "summary": "The signed-in user, usage and quota",
                "security": oa.BEARER,
                "responses": {"200": oa.json_response(oa.ref("Profile"), "Who am I"), **oa.error_responses(401)},
            }
        },
        "/api/v1/auth/password-reset": {
            "post": {
                "summary": "Mail a single-use reset link if the address is registered (always 202)",
                "requestBody": oa.json_body(oa.object_schema({"email": {"type": "string"}}, required=["email"])),
                "responses": {"202": oa.json_response(accepted, "Accepted"), **oa.error_responses(400, 401, 429)},
            }
        },
        "/api/v1/auth/password-reset/confirm": {
            "post": {
                "summary": "Set a new password with a reset token",
                "requestBody": oa.json_body(
                    oa.object_schema(
                        {"token": {"type": "string"}, "new_password": oa.password_schema()},
                        required=["token", "new_password"],
                    )
                ),
                "responses": {
                    "200": oa.json_response(accepted, "Password changed"),
                    **oa.error_responses(400, 401),
                },
            }
        },
        "/api/v1/users/me/images": {
            "get": {
                "summary": "My images (every visibility and status), newest first",
                "security": oa.BEARER,
                "parameters": oa.page_params(settings),
                "responses": {"200": oa.json_response(oa.ref("ImagePage"), "A page"), **oa.error_responses(400, 401)},
            }
        },
    }


def _schemas() -> oa.Json:
    provider = {"type": "string", "enum": ["local", "oidc"]}
    return {
        "User": oa.object_schema(
            {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "provider": provider,
            },
            required=["id", "email", "created_at", "provider"],
        ),
        "AccessToken": oa.object_schema(
            {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "const": "bearer"},
                "expires_in": {"type": "integer", "description": "Seconds"},
            },
            required=["access_token", "token_type"],
        ),
        "SignedIn": {
            "allOf": [oa.ref("AccessToken"), oa.object_schema({"user": oa.ref("User")}, required=["user"])],
        },
        "Profile": oa.object_schema(
            {
                "id": {"type": "string"},
                "email": {"type": ["string", "null"]},
                "provider": provider,
                "created_at": {"type": ["string", "null"]},
                "api_token": {
                    **oa.object_schema({"id": {"type": "string"}, "scope": {"type": "string"}}),
                    "description": "Present when a personal API token made the request",
                },
                "usage": oa.object_schema({"image_count": {"type": "integer"}, "bytes_used": {"type": "integer"}}),
                "quota": oa.object_schema(
                    {"max_images": {"type": ["integer", "null"]}, "max_bytes": {"type": ["integer", "null"]}}
                ),
            },
            required=["id", "provider", "usage", "quota"],
        ),
    }
