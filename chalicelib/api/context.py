"""Who is calling: the ``Viewer`` a route hands to the services, and the signed-in ``Principal`` behind it.

The source address is the one API Gateway reports (``requestContext.identity.sourceIp``), never a client-sent
``X-Forwarded-For``: trusting that header would let anyone dodge the per-address limits.

Bearer tokens are verified here, in our code, not by an API Gateway authorizer, so a 401 carries our error
envelope and ``WWW-Authenticate: Bearer``. No ``Authorization`` header means anonymous; a header that is there
but does not prove anything (wrong scheme, empty, forged, expired) is a 401, never a silent downgrade to
anonymous.

A bearer that starts ``chi_`` is a personal API token (``chalicelib.auth.api_tokens``), checked against the
route's scope here (``chalicelib.api.scopes``); anything else goes to the configured provider (JWTs).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from chalicelib import composition
from chalicelib.api import bodies
from chalicelib.api.scopes import check_scope
from chalicelib.auth.api_tokens import looks_like_api_token
from chalicelib.auth.providers import Principal
from chalicelib.errors import AuthenticationRequired, InsufficientScope, InvalidToken
from chalicelib.services.images import Viewer
from chalicelib.settings import get_settings

# A JWT is a few hundred bytes; anything far longer is junk we should not spend a parser on.
MAX_TOKEN_CHARS = 8192
# Delete tokens are 256-bit secrets, but every guess is still bounded per source, on every route that takes one.
DELETE_TOKEN_ATTEMPTS_PER_MINUTE = 60


def request_id(request: Request) -> str | None:
    context: dict[str, Any] = request.context or {}
    value = context.get("requestId")
    return str(value) if value else None


def source_ip(request: Request) -> str:
    context: dict[str, Any] = request.context or {}
    identity = context.get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def bearer_token(request: Request) -> str | None:
    """The bearer token of the request, None without an ``Authorization`` header; ``InvalidToken`` if malformed."""
    headers = request.headers
    header = headers.get("authorization") if headers is not None else None
    if header is None:
        return None
    scheme, _, token = str(header).strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
    return token


def principal(request: Request) -> Principal | None:
    """The verified caller, or None when the request carries no credentials."""
    token = bearer_token(request)
    if token is None:
        return None
    if looks_like_api_token(token):
        caller = composition.api_token_service().authenticate(token)
        check_scope(caller, request)
        return caller
    return composition.auth_provider().authenticate(token)


def require_session(request: Request) -> Principal:
    """A signed-in user, not an API token: for account management (tokens never manage the account)."""
    caller = require_principal(request)
    if caller.api_token is not None:  # the scope table refuses these routes too; this does not depend on it
        raise InsufficientScope("API tokens cannot manage the account; sign in with your password instead.")
    return caller


def viewer(request: Request) -> Viewer:
    """The viewer of this request: the signed-in user if a valid bearer token came with it, else anonymous."""
    caller = principal(request)
    return Viewer(
        user_id=caller.user_id if caller else None,
        source_ip=source_ip(request),
        request_id=request_id(request),
    )


def require_principal(request: Request) -> Principal:
    caller = principal(request)
    if caller is None:
        raise AuthenticationRequired()
    return caller


def require_user(request: Request) -> Viewer:
    """The viewer of a route that needs sign-in: ``AUTHENTICATION_REQUIRED`` (401) for anonymous requests."""
    current = viewer(request)
    if current.user_id is None:
        raise AuthenticationRequired()
    return current


def delete_token(request: Request) -> str | None:
    """The delete token a request presents (``X-Delete-Token`` or ``?delete_token=``), counted as one guess.

    Every route that accepts a delete token reads it here, so the per-source bound on guesses covers them all. The
    guess is counted before the token is checked: once over the limit even the right token gets 429, so a guesser
    learns nothing more.
    """
    token = request.headers.get("x-delete-token") or bodies.query(request, "delete_token")
    if token:
        composition.rate_limiter().hit("delete-token", source_ip(request), DELETE_TOKEN_ATTEMPTS_PER_MINUTE, 60)
    return token


def count_upload(request: Request) -> None:
    """Count one upload request against the per-source upload limit (every route that starts an upload)."""
    limit = get_settings().rate_limit_uploads_per_minute
    composition.rate_limiter().hit("uploads", source_ip(request), limit, 60)
