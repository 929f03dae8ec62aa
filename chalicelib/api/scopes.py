"""Which personal API token scopes may call which route. Deny by default.

A route missing from ``ROUTE_SCOPES`` refuses every API token with 403 ``INSUFFICIENT_SCOPE``: that is how
account management (sign-in, password reset, token management) stays out of reach of tokens, and how a new route
stays closed to them until someone decides. Signed-in sessions (JWTs) are not limited by this table.

``context.principal`` checks the table against the route template Chalice matched (``requestContext.resourcePath``),
so no view can forget it. tests/functional/test_api_token_scopes.py asserts the outcome of every route and scope.
"""

from __future__ import annotations

from chalice.app import Request

from chalicelib.auth.api_tokens import Scope
from chalicelib.auth.providers import Principal
from chalicelib.errors import InsufficientScope

UPLOAD = frozenset({Scope.UPLOAD, Scope.FULL})
READ = frozenset({Scope.READ, Scope.FULL})
ANY = frozenset(Scope)
FULL = frozenset({Scope.FULL})

ROUTE_SCOPES: dict[tuple[str, str], frozenset[Scope]] = {
    # Who am I (and which token is this): every token may ask, so a client can check what it holds.
    ("GET", "/api/v1/auth/me"): ANY,
    # Uploading, and following an upload to ``ready`` (the uploader needs its status and links).
    ("POST", "/api/v1/images/upload-url"): UPLOAD,
    ("POST", "/api/v1/images/upload"): UPLOAD,
    # Multipart uploads of large files (the {id} routes act on an upload still in flight; completed images 409).
    ("POST", "/api/v1/images/multipart"): UPLOAD,
    ("POST", "/api/v1/images/{image_id}/multipart/parts"): UPLOAD,
    ("GET", "/api/v1/images/{image_id}/multipart/parts"): UPLOAD,
    ("POST", "/api/v1/images/{image_id}/multipart/complete"): UPLOAD,
    ("DELETE", "/api/v1/images/{image_id}/multipart"): UPLOAD,
    ("GET", "/api/v1/images/{image_id}"): ANY,
    # Reading: your list, files and thumbnails (private ones included).
    ("GET", "/api/v1/users/me/images"): READ,
    ("GET", "/api/v1/users/me/images/{image_id}/similar"): READ,
    ("GET", "/api/v1/images/{image_id}/file"): READ,
    ("GET", "/api/v1/images/{image_id}/thumbnail"): READ,
    ("GET", "/api/v1/images"): ANY,
    ("GET", "/api/v1/images/{image_id}/verify"): READ,
    # Changing what exists.
    ("DELETE", "/api/v1/images/{image_id}"): FULL,
    ("PATCH", "/api/v1/images/{image_id}"): FULL,
}


def check_scope(caller: Principal, request: Request) -> None:
    """Refuse an API token on a route its scope does not cover. Sessions pass untouched."""
    grant = caller.api_token
    if grant is None:
        return
    context = request.context or {}
    route = (str(request.method).upper(), str(context.get("resourcePath") or ""))
    allowed = ROUTE_SCOPES.get(route)
    if allowed is None:
        raise InsufficientScope(
            "API tokens cannot be used here; sign in with your password instead.", scope=grant.scope
        )
    if grant.scope not in allowed:
        raise InsufficientScope(
            f"This API token has the {grant.scope!r} scope; this request needs one of: "
            + ", ".join(sorted(str(scope) for scope in allowed))
            + ".",
            scope=grant.scope,
            required=sorted(str(scope) for scope in allowed),
        )
