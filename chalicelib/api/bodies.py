"""Reading request bodies and query strings the same way in every blueprint."""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from chalicelib.errors import ValidationFailed


def json_object(request: Request) -> dict[str, Any]:
    """The JSON body, which must be an object (Chalice's own bad-JSON error is mapped by ``handles_errors``)."""
    body = request.json_body
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    return body


def raw_bytes(request: Request) -> bytes:
    """The body as bytes (``chalice local`` may hand over text for types it does not treat as binary)."""
    body = request.raw_body
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else (body or b"")


def query(request: Request, name: str) -> str | None:
    params = request.query_params
    return params.get(name) if params else None
