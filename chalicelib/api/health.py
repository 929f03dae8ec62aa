"""``GET /health`` (public liveness) and ``GET /health/details`` (the operator's view of each dependency).

The public answer is cheap and says nothing about the inside: no dependency is called, no address or queue
depth is shown, so anyone may poll it (load balancers, uptime checks) without costing a DynamoDB read or
learning where the Redis nodes live.

The detailed view needs the operator token (``OPERATOR_TOKEN``; header ``X-Operator-Token``), compared in
constant time; without a configured token nobody gets it. It answers 200 while images can be served and 503
when storage or metadata is down. The cache and the rate limiter degrade without taking the service down
(reads go to DynamoDB; limits fail open), so they are reported but never make the answer 503.
"""

from __future__ import annotations

import hmac
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import composition, queues
from chalicelib.api import openapi as oa
from chalicelib.api.responses import handles_errors, json_response
from chalicelib.errors import AppError, AuthenticationRequired
from chalicelib.settings import Settings, get_settings

health_api = Blueprint(__name__)

OPERATOR_TOKEN_HEADER = "X-Operator-Token"  # noqa: S105 - a header name, not a secret
# A token is a few dozen characters; the comparison never sees more than this.
MAX_OPERATOR_TOKEN_CHARS = 512


def _check(probe: Any) -> dict[str, Any]:
    try:
        result = probe()
    except AppError as exc:
        return {"status": "down", "code": str(exc.code)}
    return {"status": "up", **(result or {})}


def _cache_status(nodes: list[dict[str, Any]]) -> str:
    up = sum(1 for node in nodes if node.get("status") == "up")
    if not nodes:
        return "disabled"
    return "up" if up == len(nodes) else ("degraded" if up else "down")


def is_operator(presented: str | None, expected: str) -> bool:
    """True only for the configured, non-empty token; constant time in the token's contents."""
    if not expected or not presented or len(presented) > MAX_OPERATOR_TOKEN_CHARS:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


@health_api.route("/health", methods=["GET"])
@handles_errors
def health() -> Response:
    """Liveness: the function runs and its settings loaded. Calls no dependency."""
    return json_response({"status": "ok"})


@health_api.route("/health/details", methods=["GET"])
@handles_errors
def health_details() -> Response:
    settings = get_settings()
    headers = health_api.current_request.headers
    presented = headers.get(OPERATOR_TOKEN_HEADER.lower()) if headers is not None else None
    if not is_operator(presented, str(settings.operator_token)):
        raise AuthenticationRequired("The operator token is required.")
    cache_nodes = composition.metadata_cache().health()
    checks: dict[str, Any] = {
        "storage": _check(composition.storage().ping),
        "metadata": _check(composition.image_records().ping),
        "queue": _check(lambda: queues.queue_depth(settings.queue_name)),
        "dead_letter_queue": _check(lambda: queues.queue_depth(queues.dead_letter_queue_name(settings.queue_name))),
        "cache": {"status": _cache_status(cache_nodes), "nodes": cache_nodes},
        "rate_limiter": {"status": composition.rate_limiter().status()},
    }
    essential_up = all(checks[name]["status"] == "up" for name in ("storage", "metadata"))
    return json_response(
        {"status": "ok" if essential_up else "unavailable", "stage": settings.stage, "checks": checks},
        status=200 if essential_up else 503,
    )


def openapi_section(settings: Settings) -> oa.Section:
    """This route's part of the published document (chalicelib.api.docs assembles it)."""
    return oa.Section(
        paths={
            "/health": {
                "get": {
                    "summary": "Liveness: cheap, calls no dependency, shows nothing of the inside",
                    "responses": {
                        "200": oa.json_response(oa.object_schema({"status": {"type": "string"}}), "Alive"),
                    },
                }
            },
            "/health/details": {
                "get": {
                    "summary": "Operator view (X-Operator-Token): storage, metadata, queues, cache nodes, rate limiter",
                    "parameters": [oa.header_param(OPERATOR_TOKEN_HEADER, {"type": "string"}, "The operator token")],
                    "responses": {
                        "200": oa.json_response(oa.ref("Health"), "Serving"),
                        "503": oa.json_response(oa.ref("Health"), "Degraded"),
                        "401": oa.json_response(oa.ref("Error"), "Missing or wrong operator token"),
                    },
                }
            },
        },
        schemas={
            "Health": oa.object_schema(
                {"status": {"type": "string"}, "stage": {"type": "string"}, "checks": {"type": "object"}}
            )
        },
    )
