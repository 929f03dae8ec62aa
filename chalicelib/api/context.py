"""Who is calling: the ``Viewer`` a route hands to the services.

The source address is the one API Gateway reports (``requestContext.identity.sourceIp``), never a client-sent
``X-Forwarded-For``: trusting that header would let anyone dodge the per-address limits.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Request

from chalicelib.services.images import Viewer


def request_id(request: Request) -> str | None:
    context: dict[str, Any] = request.context or {}
    value = context.get("requestId")
    return str(value) if value else None


def source_ip(request: Request) -> str:
    context: dict[str, Any] = request.context or {}
    identity = context.get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def viewer(request: Request) -> Viewer:
    """The anonymous viewer of this request (accounts add the signed-in user on top of this)."""
    return Viewer(user_id=None, source_ip=source_ip(request), request_id=request_id(request))
