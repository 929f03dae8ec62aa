"""Reading request bodies and query strings the same way in every blueprint.

Every request input is bounded *before* it is parsed: a JSON body by its size, then by its nesting depth; a
query value by its length. API Gateway caps a body at 10 MB and a URL near 10 KB; our bounds are far tighter,
because the JSON bodies this API takes are a handful of short fields.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chalice.app import Request

from chalicelib.errors import RequestTooLarge, ValidationFailed

# The largest JSON body any route takes (upload-url, login, multipart part lists) is well under 4 KB; 64 KB
# leaves room for a multipart part list of 10,000 parts' etags while bounding what the parser may be fed.
MAX_JSON_BODY_BYTES = 64 * 1024
# Our bodies nest two levels deep; anything much deeper is junk built to exhaust the parser's recursion.
MAX_JSON_DEPTH = 8
MAX_QUERY_VALUE_CHARS = 1024


def json_object(request: Request) -> dict[str, Any]:
    """The JSON body, which must be an object no larger than ``MAX_JSON_BODY_BYTES`` and no deeper than
    ``MAX_JSON_DEPTH``. Parsed here rather than by ``Request.json_body``, which would parse any size."""
    raw = raw_bytes(request)
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise RequestTooLarge(max_bytes=MAX_JSON_BODY_BYTES)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float) if raw else None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValidationFailed("The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    if _depth(body) > MAX_JSON_DEPTH:
        raise ValidationFailed("The request body is nested too deeply.", max_depth=MAX_JSON_DEPTH)
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's parser takes them, JSON does not


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999999 overflows to infinity
        raise ValueError("a number out of range")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, iteratively (the parser already survived it; recursion here need not)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def raw_bytes(request: Request) -> bytes:
    """The body as bytes (``chalice local`` may hand over text for types it does not treat as binary)."""
    body = request.raw_body
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else (body or b"")


def query(request: Request, name: str) -> str | None:
    """One query parameter, bounded: no parameter of this API is longer than a cursor or a token."""
    params = request.query_params
    value = params.get(name) if params else None
    if value is not None and len(value) > MAX_QUERY_VALUE_CHARS:
        raise ValidationFailed(f"{name} is too long.", field=name, max_length=MAX_QUERY_VALUE_CHARS)
    return value
